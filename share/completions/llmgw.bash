# bash completion for llmgw                                    -*- shell-script -*-
# Installed to share/bash-completion/completions/llmgw; or source it from ~/.bashrc.
# Service names come from `llmgw services` at completion time, so a user file
# (--config FILE, $LLMGW_CONFIG, ~/.config/llmgw/config.toml) counts.

# Prints the names and aliases of the services, one a line; nothing when llmgw is missing
# or the configuration does not load.
_llmgw_service_names() {
    local prog=$1 config=$2
    command -v "$prog" >/dev/null 2>&1 || return 0
    local args=(services)
    [[ -n $config ]] && args+=(--config "$config")
    # Columns: NAME ALIASES ...; ALIASES is "-" or a comma-separated list.
    NO_COLOR=1 "$prog" "${args[@]}" 2>/dev/null | while read -r name aliases _; do
        [[ $name == NAME ]] && continue
        printf '%s\n' "$name"
        [[ $aliases == - || -z $aliases ]] && continue
        printf '%s\n' ${aliases//,/ }
    done
}

# Adds the matches of `words` (a space-separated list) for the current word.
_llmgw_add() {
    local IFS=$' \t\n'
    COMPREPLY+=($(compgen -W "$1" -- "$2"))
}

_llmgw_add_files() {
    local IFS=$'\n'
    compopt -o filenames 2>/dev/null
    COMPREPLY+=($(compgen -f -- "$1"))
}

_llmgw() {
    local cur=${COMP_WORDS[COMP_CWORD]}
    local prev=
    ((COMP_CWORD > 0)) && prev=${COMP_WORDS[COMP_CWORD - 1]}
    if [[ $prev == = ]] && ((COMP_CWORD > 1)); then
        prev=${COMP_WORDS[COMP_CWORD - 2]}
    elif [[ $cur == = ]]; then
        cur=
    fi
    COMPREPLY=()

    local subcommands="serve call route services"
    # Options of each subcommand; those that take a value are listed again in *_arg.
    local root_opts="-h --help --version"
    local serve_opts="-h --help --config --host -p --port --log-level --log-format --threads --drain-timeout"
    local serve_arg="--config --host -p --port --log-level --log-format --threads --drain-timeout"
    local call_opts="-h --help -X --request -H --header -d --data --data-binary --data-raw --config --via -i --include --text --timeout -m --max-time --retries -q --quiet -s --silent -S --show-error"
    local call_arg="-X --request -H --header -d --data --data-binary --data-raw --config --via --timeout -m --max-time --retries"
    local route_opts="-h --help -X --request -H --header -d --data --data-binary --data-raw --config --json"
    local route_arg="-X --request -H --header -d --data --data-binary --data-raw --config"
    local services_opts="-h --help --config --json"
    local services_arg="--config"

    # The subcommand, the --config value and the positional arguments before the cursor.
    local sub= config= word i
    local -a positionals=()
    local takes_arg=
    for ((i = 1; i < COMP_CWORD; i++)); do
        word=${COMP_WORDS[i]}
        if [[ -n $takes_arg ]]; then
            # "--config=FILE" arrives as three words when '=' is in COMP_WORDBREAKS.
            [[ $word == = ]] && continue
            [[ $takes_arg == --config ]] && config=$word
            takes_arg=
            continue
        fi
        if [[ -z $sub ]]; then
            [[ " $subcommands " == *" $word "* ]] && sub=$word
            continue
        fi
        local arg_opts_name=${sub}_arg
        case $word in
            --config=*) config=${word#--config=} ;;
            --*=*) ;;
            -*)
                [[ " ${!arg_opts_name} " == *" $word "* ]] && takes_arg=$word
                ;;
            *) positionals+=("$word") ;;
        esac
    done
    config=${config/#\~/$HOME}

    local prog=${COMP_WORDS[0]}
    prog=${prog/#\~/$HOME}
    command -v "$prog" >/dev/null 2>&1 || prog=llmgw

    if [[ -z $sub ]]; then
        if [[ $cur == -* ]]; then
            _llmgw_add "$root_opts" "$cur"
        else
            _llmgw_add "$subcommands" "$cur"
        fi
        return 0
    fi

    # The value of an option.
    case $prev in
        --config)
            _llmgw_add_files "$cur"
            return 0
            ;;
        -d | --data | --data-binary)
            if [[ $cur == @* ]]; then
                local IFS=$'\n' f
                compopt -o filenames 2>/dev/null
                for f in $(compgen -f -- "${cur#@}"); do COMPREPLY+=("@$f"); done
                [[ -z ${cur#@} ]] && COMPREPLY+=("@-")
            fi
            return 0
            ;;
        --log-level)
            _llmgw_add "debug info warn error" "$cur"
            return 0
            ;;
        --log-format)
            _llmgw_add "text json" "$cur"
            return 0
            ;;
        -X | --request)
            _llmgw_add "GET POST PUT PATCH DELETE HEAD OPTIONS" "$cur"
            return 0
            ;;
        --host)
            _llmgw_add "127.0.0.1 ::1 0.0.0.0 localhost" "$cur"
            return 0
            ;;
        --via)
            _llmgw_add "http://127.0.0.1:8787" "$cur"
            return 0
            ;;
        -H | --header | -p | --port | --threads | --drain-timeout | --timeout | -m | --max-time | --retries)
            return 0
            ;;
    esac
    if [[ $prev == -* && $takes_arg == "$prev" ]]; then
        return 0
    fi

    if [[ $cur == -* ]]; then
        local opts_name=${sub}_opts
        _llmgw_add "${!opts_name}" "$cur"
        return 0
    fi

    case $sub in
        call)
            # SERVICE PATH
            if ((${#positionals[@]} == 0)); then
                _llmgw_add "$(_llmgw_service_names "$prog" "$config")" "$cur"
            fi
            ;;
        route)
            # [METHOD] PATH: a method first, or /gateway/SERVICE/ at once.
            local methods="GET POST PUT PATCH DELETE HEAD OPTIONS"
            local n=${#positionals[@]}
            if ((n == 0)) || { ((n == 1)) && [[ ${positionals[0]} != */* ]]; }; then
                if [[ $cur == /* ]]; then
                    local name paths=
                    for name in $(_llmgw_service_names "$prog" "$config"); do
                        paths+="/gateway/$name/ "
                    done
                    _llmgw_add "$paths" "$cur"
                    compopt -o nospace 2>/dev/null
                else
                    ((n == 0)) && _llmgw_add "$methods" "$cur"
                    _llmgw_add "/gateway/" "$cur"
                    [[ ${#COMPREPLY[@]} -eq 1 && ${COMPREPLY[0]} == /gateway/ ]] &&
                        compopt -o nospace 2>/dev/null
                fi
            fi
            ;;
    esac
    return 0
}

complete -F _llmgw llmgw
