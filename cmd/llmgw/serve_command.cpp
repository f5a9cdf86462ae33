#include "serve_command.hpp"

#include <csignal>
#include <iostream>
#include <memory>
#include <string_view>

#include "allocator.hpp"
#include "server/gateway.hpp"
#include "upstream/ca_trust.hpp"
#include "upstream/libcurl.hpp"
#include "upstream/loop_clients.hpp"
#include "util/log.hpp"

namespace llmgw::cli {

namespace {

template <class Predicate>
bool any_service(const config::Config& config, Predicate&& holds) {
    for (const auto& service : config.services)
        if (holds(service.base_url.scheme)) return true;
    return false;
}

// libcurl is opened before the loops start when the table has an upstream it carries, so
// that the first https request does not wait while it loads (~4 ms). A table of http://
// upstreams only never loads it. Without it the gateway still serves them.
void load_libcurl_or_warn() {
    if (upstream::load_libcurl(/*resolve_now=*/true)) return;
    log_line(LogLevel::warn, "",
             "libcurl could not be loaded, requests to https:// upstreams will fail",
             {log_str("reason", upstream::libcurl_error())});
}

}  // namespace

void add_serve_command(CLI::App& app, Command& selected) {
    auto opts = std::make_shared<ServeOptions>();
    CLI::App* sub = app.add_subcommand("serve", "Run the gateway (default http://127.0.0.1:8787)");
    sub->footer(
        "Examples:\n"
        "  llmgw serve\n"
        "  llmgw serve --port 9000 --log-format json\n"
        "  OPENAI_BASE_URL=http://127.0.0.1:8787/gateway/openai/v1 python app.py\n\n"
        "SIGINT/SIGTERM stop accepting, let in-flight requests finish for up to\n"
        "--drain-timeout ms, then exit 0; a second signal exits at once with status 1.");
    add_config_option(*sub, opts->config);
    sub->add_option_function<std::string>(
           "--host", [opts](const std::string& v) { opts->flags.host = v; },
           "Address to listen on (default 127.0.0.1; others are reachable by anyone on the network)")
        ->type_name("HOST");
    sub->add_option_function<std::uint16_t>(
           "-p,--port", [opts](const std::uint16_t& v) { opts->flags.port = v; },
           "Port to listen on (default 8787; 0 picks a free one)")
        ->type_name("PORT")
        ->transform(decimal_up_to(65535));
    sub->add_option_function<std::string>(
           "--log-level", [opts](const std::string& v) { opts->flags.log_level = v; },
           "debug, info, warn or error (default info, or LOG_LEVEL)")
        ->type_name("LEVEL");
    sub->add_option_function<std::string>(
           "--log-format", [opts](const std::string& v) { opts->flags.log_format = v; },
           "text or json (default text)")
        ->type_name("FORMAT");
    sub->add_option_function<int>(
           "--threads", [opts](const int& v) { opts->flags.threads = v; },
           "Event-loop threads, 0 to 256 (default 0: the cores it may run on)")
        ->type_name("N")
        ->transform(decimal_digits())
        ->check(CLI::Range(0, 256));
    sub->add_option_function<std::int64_t>(
           "--drain-timeout", [opts](const std::int64_t& v) { opts->flags.drain_timeout_ms = v; },
           "Milliseconds to let in-flight requests finish on shutdown (default 10000)")
        ->type_name("MS")
        ->transform(decimal_digits())
        ->check(CLI::Range(static_cast<std::int64_t>(0), static_cast<std::int64_t>(86400000)));
    sub->callback([opts, &selected] {
        selected = [opts] { return run_serve(*opts, std::cerr); };
    });
}

int run_serve(const ServeOptions& opts, std::ostream& err) {
    config::LoadOptions load;
    if (!opts.config.config_file.empty()) load.config_flag = opts.config.config_file;
    load.env = opts.config.env ? opts.config.env : config::process_env();
    load.flags = opts.flags;
    auto loaded = config::load_config(load);
    if (!loaded) {
        print_error(err, loaded.error().message);
        return exit_usage;
    }
    const config::Config& config = *loaded;
    const auto level = parse_log_level(config.gateway.log_level).value_or(LogLevel::info);
    const auto format = parse_log_format(config.gateway.log_format).value_or(LogFormat::text);
    log_setup(level, format);
    std::signal(SIGPIPE, SIG_IGN);
    if (const auto problem = upstream::upstream_client_setting_problem()) {
        print_error(err, *problem);
        return exit_usage;
    }
    // Certificates named by the environment that cannot be used would fail every https
    // request: refused at start instead.
    if (any_service(config, [](std::string_view scheme) { return scheme == "https"; })) {
        if (const auto problem = upstream::ca_trust_problem()) {
            print_error(err, *problem);
            return exit_usage;
        }
    }
    if (any_service(config, upstream::needs_libcurl)) load_libcurl_or_warn();
    server::GatewayHooks hooks;
    hooks.release_memory = allocator_release_memory();
    return server::run_gateway(config, hooks);
}

}  // namespace llmgw::cli
