#!/usr/bin/env bash
# The zsh and fish completions know every flag of `llmgw SUB --help`; when zsh or fish is
# installed, the files also parse, and fish completes subcommands and service names. Under
# CI=true (scripts/bootstrap installs both) a missing zsh or fish is a failure.
# Usage: test_zsh_fish_completion.sh LLMGW COMPLETIONS_DIR
set -uo pipefail

llmgw=$1
dir=$2
bin_dir=$(cd "$(dirname "$llmgw")" && pwd)
home=$(mktemp -d)
trap 'rm -rf "$home"' EXIT
export HOME=$home XDG_CONFIG_HOME=$home/.config
unset LLMGW_CONFIG PROXY_CONFIG
export PATH="$bin_dir:$PATH"
failures=0

fail() {
    echo "FAIL $*"
    failures=$((failures + 1))
}

help_flags() {
    "$llmgw" "$@" --help |
        awk '/^Options:/ { on = 1; next } on && /^[^ ]/ { on = 0 } on && /^ +-/ { print $1 }' |
        tr ',' '\n'
}

# Every flag is named in both files.
for sub in serve call route services; do
    flags=$(help_flags "$sub")
    # -h, --help and --config at least: fewer means the help's layout changed under the awk.
    (($(wc -w <<<"$flags") >= 3)) || fail "found only '$flags' in llmgw $sub --help"
    for flag in $flags; do
        if [[ $flag == --* ]]; then
            fish_form="-l ${flag#--}"
        else
            fish_form="-s ${flag#-}"
        fi
        grep -qE -- "(^|[^A-Za-z-])${flag}([^A-Za-z-]|\$)" "$dir/_llmgw" ||
            fail "_llmgw does not name $flag of llmgw $sub"
        grep -qE -- "(^|[^A-Za-z-])${fish_form}([^A-Za-z-]|\$)" "$dir/llmgw.fish" ||
            fail "llmgw.fish does not name $flag ($fish_form) of llmgw $sub"
    done
    grep -q "'$sub:" "$dir/_llmgw" || fail "_llmgw does not describe the subcommand $sub"
    grep -q -- "-a $sub " "$dir/llmgw.fish" || fail "llmgw.fish does not offer the subcommand $sub"
done
echo "checked: every flag of every subcommand is named in _llmgw and llmgw.fish"

if command -v zsh >/dev/null 2>&1; then
    if timeout 60 zsh -n "$dir/_llmgw"; then
        echo "ok   zsh -n _llmgw"
    else
        fail "zsh -n _llmgw"
    fi
else
    echo "note: zsh is not installed; _llmgw syntax not checked"
    [[ ${CI:-} == true ]] && fail "zsh is not installed (CI=true: a missing tool is a failure)"
fi

if command -v fish >/dev/null 2>&1; then
    if timeout 60 fish -n "$dir/llmgw.fish"; then
        echo "ok   fish -n llmgw.fish"
    else
        fail "fish -n llmgw.fish"
    fi
    fish_case() {
        local expected=$1 line=$2 got
        got=$(timeout 60 fish --no-config -c "source '$dir/llmgw.fish'; complete -C '$line'" 2>&1 |
            cut -f1 | sort | tr '\n' ' ' | sed 's/ $//')
        if [[ $got == "$expected" ]]; then
            echo "ok   fish [$line] -> $got"
        else
            fail "fish [$line]: expected '$expected', got '$got'"
        fi
    }
    fish_case "serve services" "llmgw s"
    fish_case "openai openrouter" "llmgw call op"
    fish_case "claude" "llmgw call cl"
    fish_case "/gateway/anthropic/" "llmgw route /gateway/an"
    fish_case "PATCH POST PUT" "llmgw route P"
    fish_case "warn" "llmgw serve --log-level w"
else
    echo "note: fish is not installed; llmgw.fish not run"
    [[ ${CI:-} == true ]] && fail "fish is not installed (CI=true: a missing tool is a failure)"
fi

if ((failures > 0)); then
    echo "$failures check(s) failed"
    exit 1
fi
