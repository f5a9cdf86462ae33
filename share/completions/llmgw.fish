# fish completion for llmgw. Installed to share/fish/vendor_completions.d/llmgw.fish.
# Service names come from `llmgw services` at completion time, so a user file
# (--config FILE, $LLMGW_CONFIG, ~/.config/llmgw/config.toml) counts.

# Names and aliases of the services; nothing when llmgw is missing or the configuration
# does not load.
function __llmgw_service_names
    set -l tokens (commandline -opc)
    set -l prog $tokens[1]
    command -q -- $prog; or set prog llmgw
    command -q -- $prog; or return 0
    set -l args services
    # Pass the --config FILE of the command line on.
    set -l i 2
    while test $i -le (count $tokens)
        switch $tokens[$i]
            case --config
                set -l next (math $i + 1)
                if test $next -le (count $tokens)
                    set args $args --config $tokens[$next]
                end
            case '--config=*'
                set args $args $tokens[$i]
        end
        set i (math $i + 1)
    end
    # Columns: NAME ALIASES ...; ALIASES is "-" or a comma-separated list.
    env NO_COLOR=1 $prog $args 2>/dev/null | while read -l name aliases rest
        test "$name" = NAME; and continue
        test -n "$name"; or continue
        echo $name
        if test "$aliases" != - -a -n "$aliases"
            string split , -- $aliases
        end
    end
end

# -d @FILE: files with the @ kept, and @- for standard input.
function __llmgw_body
    set -l token (commandline -ct)
    string match -q -- '@*' $token; or return 0
    set -l path (string sub -s 2 -- $token)
    test -z "$path"; and echo @-
    for f in $path*
        if test -d $f
            echo @$f/
        else
            echo @$f
        end
    end
end

function __llmgw_gateway_paths
    for name in (__llmgw_service_names)
        echo /gateway/$name/
    end
end

# The positional arguments of the subcommand typed so far (options and their values
# skipped).
function __llmgw_positionals
    set -l tokens (commandline -opc)
    set -e tokens[1]
    set -l skip_next 0
    set -l seen_sub 0
    for t in $tokens
        if test $skip_next = 1
            set skip_next 0
            continue
        end
        if test $seen_sub = 0
            contains -- $t serve call route services; and set seen_sub 1
            continue
        end
        switch $t
            case -X --request -H --header -d --data --data-binary --data-raw --config --via --timeout -m --max-time --retries \
                --host -p --port --log-level --log-format --threads --drain-timeout
                set skip_next 1
            case '-*'
            case '*'
                echo $t
        end
    end
end

function __llmgw_call_wants_service
    __fish_seen_subcommand_from call; or return 1
    test (count (__llmgw_positionals)) -eq 0
end

function __llmgw_route_wants_method
    __fish_seen_subcommand_from route; or return 1
    test (count (__llmgw_positionals)) -eq 0
end

function __llmgw_route_wants_path
    __fish_seen_subcommand_from route; or return 1
    set -l given (__llmgw_positionals)
    test (count $given) -eq 0; and return 0
    test (count $given) -eq 1; and not string match -q -- '*/*' $given[1]
end

set -l subcommands serve call route services
set -l methods GET POST PUT PATCH DELETE HEAD OPTIONS

complete -c llmgw -f

# llmgw
complete -c llmgw -n "not __fish_seen_subcommand_from $subcommands" -s h -l help -d 'Print the usage and exit'
complete -c llmgw -n "not __fish_seen_subcommand_from $subcommands" -l version -d 'Print the version and exit'
complete -c llmgw -n "not __fish_seen_subcommand_from $subcommands" -a serve -d 'Run the gateway (default http://127.0.0.1:8787)'
complete -c llmgw -n "not __fish_seen_subcommand_from $subcommands" -a call -d 'Send one request to a service and print the answer'
complete -c llmgw -n "not __fish_seen_subcommand_from $subcommands" -a route -d 'Explain how a request would be routed'
complete -c llmgw -n "not __fish_seen_subcommand_from $subcommands" -a services -d 'List the services of the merged table'

# Shared by every subcommand
complete -c llmgw -n "__fish_seen_subcommand_from $subcommands" -s h -l help -d 'Print the flags and exit'
complete -c llmgw -n "__fish_seen_subcommand_from $subcommands" -l config -r -F -d 'Override file'

# llmgw serve
complete -c llmgw -n '__fish_seen_subcommand_from serve' -l host -x -a '127.0.0.1 ::1 0.0.0.0 localhost' -d 'Address to listen on'
complete -c llmgw -n '__fish_seen_subcommand_from serve' -s p -l port -x -d 'Port to listen on (0 picks a free one)'
complete -c llmgw -n '__fish_seen_subcommand_from serve' -l log-level -x -a 'debug info warn error' -d 'Log level'
complete -c llmgw -n '__fish_seen_subcommand_from serve' -l log-format -x -a 'text json' -d 'Log format'
complete -c llmgw -n '__fish_seen_subcommand_from serve' -l threads -x -d 'Event-loop threads'
complete -c llmgw -n '__fish_seen_subcommand_from serve' -l drain-timeout -x -d 'Milliseconds to finish in-flight requests on shutdown'

# llmgw call
complete -c llmgw -n '__fish_seen_subcommand_from call route' -s X -l request -x -a "$methods" -d 'HTTP method'
complete -c llmgw -n '__fish_seen_subcommand_from call route' -s H -l header -x -d "Request header 'Name: value' (repeatable)"
complete -c llmgw -n '__fish_seen_subcommand_from call route' -s d -l data -x -a '(__llmgw_body)' -d 'Request body: DATA, @FILE or @-'
complete -c llmgw -n '__fish_seen_subcommand_from call route' -l data-binary -x -a '(__llmgw_body)' -d 'Request body, as -d'
complete -c llmgw -n '__fish_seen_subcommand_from call route' -l data-raw -x -d 'Request body as it is, an @ too'
complete -c llmgw -n '__fish_seen_subcommand_from call' -l via -x -a 'http://127.0.0.1:8787' -d 'Send through a running gateway'
complete -c llmgw -n '__fish_seen_subcommand_from call' -s i -l include -d 'Print the status line and headers first'
complete -c llmgw -n '__fish_seen_subcommand_from call' -l text -d 'Print only the generated text'
complete -c llmgw -n '__fish_seen_subcommand_from call' -l timeout -x -d 'The lane deadline in milliseconds'
complete -c llmgw -n '__fish_seen_subcommand_from call' -s m -l max-time -x -d 'Cap on the whole exchange in seconds'
complete -c llmgw -n '__fish_seen_subcommand_from call' -l retries -x -d 'Extra attempts after a retryable failure'
complete -c llmgw -n '__fish_seen_subcommand_from call' -s q -l quiet -d 'No notices on stderr'
complete -c llmgw -n '__fish_seen_subcommand_from call' -s s -l silent -d "As -q (curl's spelling)"
complete -c llmgw -n '__fish_seen_subcommand_from call' -s S -l show-error -d "Accepted for curl's -sS"
complete -c llmgw -n __llmgw_call_wants_service -a '(__llmgw_service_names)' -d Service

# llmgw route
complete -c llmgw -n '__fish_seen_subcommand_from route services' -l json -d 'Print JSON'
complete -c llmgw -n __llmgw_route_wants_method -a "$methods" -d Method
complete -c llmgw -n __llmgw_route_wants_path -a '(__llmgw_gateway_paths)' -d 'Gateway path'
