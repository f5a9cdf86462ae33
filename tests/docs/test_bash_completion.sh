#!/usr/bin/env bash
# The bash completion registers itself and completes subcommands, options, option values
# and service names (from the llmgw first in PATH, with a user file counted).
# Usage: test_bash_completion.sh LLMGW COMPLETION_FILE
set -uo pipefail

llmgw=$1
completion=$2
bin_dir=$(cd "$(dirname "$llmgw")" && pwd)
home=$(mktemp -d)
trap 'rm -rf "$home"' EXIT
export HOME=$home XDG_CONFIG_HOME=$home/.config
unset LLMGW_CONFIG PROXY_CONFIG
export PATH="$bin_dir:$PATH"

# shellcheck source=/dev/null
source "$completion" || { echo "FAIL: sourcing $completion"; exit 1; }

failures=0

if spec=$(complete -p llmgw 2>&1); then
    echo "ok   complete -p llmgw: $spec"
else
    echo "FAIL complete -p llmgw: $spec"
    failures=$((failures + 1))
fi

# complete EXPECTED WORD... : completes the last WORD as bash would and compares the
# sorted candidates with EXPECTED (space-separated).
complete_case() {
    local expected=$1
    shift
    COMP_WORDS=("$@")
    COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
    COMP_LINE="$*"
    COMP_POINT=${#COMP_LINE}
    COMPREPLY=()
    _llmgw 2>"$home/stderr" >/dev/null
    local errors
    errors=$(<"$home/stderr")
    local got
    got=$(printf '%s\n' "${COMPREPLY[@]}" | sed '/^$/d' | sort | tr '\n' ' ' | sed 's/ $//')
    if [[ $got == "$expected" && -z $errors ]]; then
        echo "ok   [$*] -> $got"
    else
        echo "FAIL [$*]: expected '$expected', got '$got' ${errors:+(stderr: $errors)}"
        failures=$((failures + 1))
    fi
}

complete_case "serve services" llmgw s
complete_case "call route serve services" llmgw ""
complete_case "--help --version" llmgw --
complete_case "openai openrouter" llmgw call op
complete_case "claude" llmgw call cl
complete_case "pplx" llmgw call -H 'Accept: text/plain' pp
complete_case "" llmgw call openai ""
complete_case "PATCH POST PUT" llmgw call -X P
complete_case "--config --data --data-binary --data-raw --header --help --include --max-time --quiet --request --retries --show-error --silent --text --timeout --via" \
    llmgw call --
complete_case "PATCH POST PUT" llmgw route P
complete_case "/gateway/anthropic/" llmgw route /gateway/an
complete_case "/gateway/ollama/ /gateway/openai/ /gateway/openrouter/" llmgw route POST /gateway/o
complete_case "/gateway/" llmgw route POST ""
complete_case "" llmgw route /gateway/openai/v1/models ""
complete_case "--config --data --data-binary --data-raw --header --help --json --request" llmgw route --
complete_case "warn" llmgw serve --log-level w
complete_case "json" llmgw serve --log-format = j
complete_case "--config" llmgw services --c

# Every flag of `llmgw SUB --help` is offered after `llmgw SUB -`.
for sub in serve call route services; do
    COMP_WORDS=(llmgw "$sub" -)
    COMP_CWORD=2
    COMPREPLY=()
    _llmgw
    offered=" ${COMPREPLY[*]} "
    flags=$("$llmgw" "$sub" --help |
        awk '/^Options:/ { on = 1; next } on && /^[^ ]/ { on = 0 } on && /^ +-/ { print $1 }' |
        tr ',' '\n')
    # -h, --help and --config at least: fewer means the help's layout changed under the awk.
    if (($(wc -w <<<"$flags") < 3)); then
        echo "FAIL found only '$flags' in llmgw $sub --help: is the Options: section still there?"
        failures=$((failures + 1))
    fi
    for flag in $flags; do
        if [[ $offered != *" $flag "* ]]; then
            echo "FAIL llmgw $sub -<TAB> does not offer $flag (from llmgw $sub --help)"
            failures=$((failures + 1))
        fi
    done
done

# Options that take a value complete nothing else.
complete_case "" llmgw serve --port ""

# A service added by a user file counts, whether --config, --config=FILE or LLMGW_CONFIG.
user_file=$home/extra.toml
printf '[services.zeta-local]\nbase_url = "http://127.0.0.1:9"\naliases = ["zl"]\n' >"$user_file"
complete_case "zeta-local zl" llmgw call --config "$user_file" z
complete_case "zeta-local zl" llmgw call --config = "$user_file" z
LLMGW_CONFIG=$user_file complete_case "/gateway/zeta-local/ /gateway/zl/" llmgw route /gateway/z
# The command as typed (a path) is the one asked for the services.
PATH=/usr/bin:/bin complete_case "openai openrouter" "$bin_dir/llmgw" call op

# Without llmgw on PATH: no service names, no errors; subcommands still complete.
PATH=/usr/bin:/bin complete_case "" llmgw call op
PATH=/usr/bin:/bin complete_case "serve services" llmgw s

if ((failures > 0)); then
    echo "$failures case(s) failed"
    exit 1
fi
