#include "call_command.hpp"

#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <csignal>
#include <iostream>
#include <memory>
#include <string>

#include "call_request.hpp"
#include "interrupts.hpp"
#include "routing/header_policy.hpp"
#include "routing/router.hpp"
#include "server/handler.hpp"
#include "upstream/ca_trust.hpp"
#include "upstream/exchange.hpp"
#include "upstream/loop_clients.hpp"

namespace llmgw::cli {

namespace {

const char* const kFooter =
    R"(Sends one request to SERVICE's base URL + PATH through the gateway's pipeline: the same
routing decision (lane, timeouts), header policy, retries with backoff and response size
limit as `llmgw serve`. The body goes to stdout as it arrives, nothing else does; notices
and errors go to stderr.

-d implies POST and Content-Type: application/json unless given; a body over
max_request_bytes (32 MiB unless the user file sets it), which serve would refuse, is a usage
error, found before anything is sent (-d @/dev/zero ends too). When the request has no
auth header of its own (nor Authorization, x-api-key, x-goog-api-key, api-key, or a key=
query parameter), the service's key variable is added as its header, e.g. OPENAI_API_KEY as
"Authorization: Bearer ...", ANTHROPIC_API_KEY as x-api-key, GEMINI_API_KEY as
x-goog-api-key (api_key_env, api_key_header, api_key_prefix in services.toml). The key is
never printed.

--timeout MS replaces the lane's deadline: until the response headers on the edge lane, the
whole exchange on the background lane (with --via, only how long call waits: the gateway
keeps its own). -m SECONDS caps the whole exchange, retries and a
stream included, as curl's -m: exit status 3 if it passes before the response headers, 4
after. --retries N allows N extra attempts for any method (0: none), overriding max_retries,
retry_methods and ENABLE_RETRY.

--via URL sends the request to a running gateway (URL/gateway/SERVICE/PATH) instead; the key
is added the same way, the gateway retries and limits, and call does not retry by default.
Its own JSON errors are recognised, printed on stderr and mapped to the statuses below.

--text prints only the generated text (a refusal too) of OpenAI chat completions, completions
and Responses, Anthropic messages, Gemini generateContent and Ollama /api/chat and /api/generate
answers, streamed or not (a Gemini JSON array and Ollama's JSON lines too, as each answer
arrives), and a newline at the end (none when a cut answer had no text yet). An answer of
another format is printed as it is, with a warning; an HTTP error as it is, without one. An
error the stream reports (its first event too), a prompt Gemini blocked or an event that is
not JSON is said on stderr, never printed. On a terminal, control characters in it are shown
as U+FFFD.

Exit status:
  0    the answer was 2xx or 3xx and complete
  1    the answer was an HTTP error (>= 400); its body is still printed. Also an UNKNOWN
       error of llmgw's own (libcurl could not be loaded), as JSON on stderr, and a
       request body the --via gateway refused as over its max_request_bytes (its 413
       SIZE_LIMIT, said on stderr)
  2    usage or configuration error (bad flag, unknown service, unreadable -d @FILE or @-,
       a body over max_request_bytes, unusable SSL_CERT_FILE, SSL_CERT_DIR or
       CURL_CA_BUNDLE for an https:// upstream)
  3    no answer: TIMEOUT, DNS, CONNECTION, SSL or NETWORK failure; the gateway's JSON
       error is printed on stderr
  4    the answer was cut: at its size limit (also when Content-Length is over it), broken
       or stalled mid-way, at -m's time (a stdout nobody reads too), or a stream ended
       before its end marker ([DONE], message_stop, response.completed, Gemini's
       finishReason, Ollama's "done": true) or reported an error; with --text also a
       stream without events, a Gemini JSON array without its closing ], a prompt Gemini
       blocked, an event that is not JSON
  130  interrupted (Ctrl-C; 143 for SIGTERM), also while stdout's reader is not reading;
       the transfer is aborted
  141  stdout was closed by its reader; the transfer is aborted
  23   stdout could not be written (a full disk, ...), said on stderr; the transfer is aborted

Examples:
  llmgw call openai /v1/models
  llmgw call openai /v1/chat/completions --text \
    -d '{"model":"gpt-4o-mini","stream":true,"messages":[{"role":"user","content":"hi"}]}'
  llmgw call claude /v1/messages -d @request.json -i
  echo '{"contents":[{"parts":[{"text":"hi"}]}]}' |
    llmgw call gemini '/v1beta/models/gemini-2.0-flash:streamGenerateContent?alt=sse' -d @- --text
  llmgw call openai /v1/models --via http://127.0.0.1:8787)";

// -m SECONDS as curl takes it ("30", "2.5", ".5"), rewritten to whole milliseconds (at least
// 1 unless it is 0, which means no cap). Exponents, signs and more than a day are refused.
CLI::Validator seconds_to_milliseconds() {
    return CLI::Validator(
        [](std::string& value) -> std::string {
            const std::string bad = "'" + value + "' is not a number of seconds up to 86400";
            const std::size_t dot = value.find('.');
            const std::string whole = value.substr(0, dot);
            const std::string fraction = dot == std::string::npos ? "" : value.substr(dot + 1);
            const auto digits = [](const std::string& s) {
                return s.find_first_not_of("0123456789") == std::string::npos;
            };
            if ((whole.empty() && fraction.empty()) || !digits(whole) || !digits(fraction)) {
                return bad;
            }
            const std::size_t first = whole.find_first_not_of('0');
            if (first != std::string::npos && whole.size() - first > 5) return bad;
            std::int64_t ms = whole.empty() ? 0 : std::stoll(whole) * 1000;
            // Milliseconds from the first three decimals, rounded up: "0.0001" is 1 ms, not 0.
            const std::string thousandths = (fraction + "000").substr(0, 3);
            ms += std::stoll(thousandths);
            if (fraction.find_first_not_of('0', 3) != std::string::npos) ++ms;
            if (ms > 86400000) return bad;
            value = std::to_string(ms);
            return {};
        },
        "", "SECONDS");
}

// Through a gateway only the client's side of the header policy applies: the gateway adds
// the service's defaults and, unless the user sent one, its own request id.
Headers via_request_headers(const Headers& user) {
    static const config::Service kNoDefaults;
    const auto user_id = user.get("X-Request-Id");
    Headers headers = routing::upstream_request_headers(user, kNoDefaults, user_id.value_or(""));
    if (!user_id) headers.remove("X-Request-Id");
    return headers;
}

// The request as it leaves: straight to the service (with `request_id`), or to the --via
// gateway (which sets its own); with the key from the environment. Errors are printed.
std::optional<upstream::UpstreamRequest> outgoing_request(const CallOptions& opts,
                                                          const CallRequest& request,
                                                          const routing::Decision& decision,
                                                          const std::string& request_id,
                                                          std::ostream& err) {
    upstream::UpstreamRequest out;
    out.method = request.method;
    if (!opts.via) {
        out.url = decision.upstream_url;
        out.headers =
            routing::upstream_request_headers(request.headers, *decision.service, request_id);
    } else {
        auto url = via_url(*opts.via, request.target);
        if (!url) {
            print_error(err, url.error());
            return std::nullopt;
        }
        out.url = std::move(*url);
        out.headers = via_request_headers(request.headers);
    }
    const config::EnvLookup env = opts.config.env ? opts.config.env : config::process_env();
    if (auto added = add_env_auth(out.headers, decision.service->auth, request.target, env);
        !added) {
        print_error(err, added.error());
        return std::nullopt;
    }
    for (const std::string& name : request.removed) out.headers.remove(name);
    if (out.url.starts_with("https://")) {
        if (const auto problem = upstream::ca_trust_problem()) {
            print_error(err, *problem);
            return std::nullopt;
        }
    }
    return out;
}

// How long a stream's transfer may go on after its end marker: its last chunk comes with it.
constexpr std::chrono::milliseconds kAfterEndMarker{1000};

// Runs one exchange on its own event loop until it ends, a signal arrives or stdout closes.
int run_exchange(upstream::UpstreamRequest request, const RequestPolicy& policy,
                 CallSinkOptions sink_options, Output& out, std::ostream& err) {
    boost::asio::io_context io;
    // One exchange: a retry may reuse its connection.
    upstream::LoopClients clients(io, upstream::PoolLimits{.keep_idle = 1});
    std::shared_ptr<upstream::Exchange> exchange;
    const auto stop = [&] {
        if (exchange) exchange->cancel();  // closes the upstream connection mid-transfer
        io.stop();
    };
    // A stream whose end marker came ends there if its transfer has not ended a while after
    // (an upstream, or a proxy, that keeps it open): the SDKs stop reading at the marker.
    boost::asio::steady_timer after_marker(io);
    CallSink* sink_at_marker = nullptr;
    const auto marker_seen = [&] {
        after_marker.expires_after(kAfterEndMarker);
        after_marker.async_wait([&](const boost::system::error_code& ec) {
            if (!ec && sink_at_marker) sink_at_marker->end_at_marker(kAfterEndMarker);
        });
    };
    // The sink may ask from inside a curl callback, where the transfer cannot be removed.
    CallSink sink(
        std::move(sink_options), out, err, [&] { boost::asio::post(io, stop); }, marker_seen);
    sink_at_marker = &sink;
    // SIGINT and SIGTERM make the interrupt pipe readable (a copy: the descriptor closes its own).
    boost::asio::posix::stream_descriptor interrupted(io);
    if (const int fd = interrupt_fd(); fd >= 0) {
        if (const int copy = ::dup(fd); copy >= 0) {
            interrupted.assign(copy);
            interrupted.async_wait(boost::asio::posix::stream_descriptor::wait_read,
                                   [&](const boost::system::error_code& ec) {
                                       if (!ec) stop();
                                   });
        }
    }
    exchange = upstream::Exchange::start(clients, std::move(request), policy, sink);
    io.run();
    exchange.reset();
    if (const int number = interrupt_signal(); number != 0) return 128 + number;
    return sink.exit_status();
}

}  // namespace

void add_call_command(CLI::App& app, Command& selected) {
    auto opts = std::make_shared<CallOptions>();
    CLI::App* sub = app.add_subcommand(
        "call", "Send one request to a service and print the answer as it arrives");
    sub->footer(kFooter);
    sub->add_option("SERVICE", opts->service, "Service name or alias, e.g. openai, claude")
        ->required();
    sub->add_option("PATH", opts->path, "Upstream path and query, e.g. /v1/chat/completions")
        ->required();
    sub->add_option("-X,--request", opts->method, "HTTP method (default GET, or POST with -d)")
        ->type_name("METHOD");
    add_header_option(*sub, opts->headers);
    add_data_options(*sub, opts->body);
    add_config_option(*sub, opts->config);
    sub->add_option("--via", opts->via,
                    "Send through a running gateway, e.g. http://127.0.0.1:8787")
        ->type_name("URL");
    sub->add_flag("-i,--include", opts->include, "Print the status line and headers first");
    sub->add_flag("--text", opts->text, "Print only the generated text, as it streams");
    sub->add_option_function<std::int64_t>(
           "--timeout", [opts](const std::int64_t& v) { opts->timeout_ms = v; },
           "The lane's deadline in milliseconds (see below)")
        ->type_name("MS")
        ->transform(decimal_digits())
        ->check(CLI::Range(static_cast<std::int64_t>(1), static_cast<std::int64_t>(86400000)));
    sub->add_option_function<int>(
           "--retries", [opts](const int& v) { opts->retries = v; },
           "Extra attempts after a retryable failure (0: none)")
        ->type_name("N")
        ->transform(decimal_digits())
        ->check(CLI::Range(0, 100));
    sub->add_option_function<std::int64_t>(
           "-m,--max-time", [opts](const std::int64_t& v) { opts->max_time_ms = v; },
           "Longest the whole exchange may take, in seconds (e.g. 30, 2.5; 0: no cap)")
        ->type_name("SECONDS")
        ->transform(seconds_to_milliseconds());
    sub->add_flag("-q,--quiet", opts->quiet, "No notices on stderr (errors are still printed)");
    sub->add_flag("-s,--silent", opts->quiet,
                  "As -q, curl's spelling (call has no progress meter)");
    sub->add_flag("-S,--show-error")
        ->description("Accepted for curl's -sS: errors are always printed");
    sub->callback([opts, &selected] {
        selected = [opts] {
            FdOutput out(STDOUT_FILENO);
            return run_call(*opts, stdin, out, std::cerr);
        };
    });
}

int run_call(const CallOptions& opts, std::FILE* in, Output& out, std::ostream& err) {
    const auto config = load_config_or_report(opts.config, err);
    if (!config) return exit_usage;
    auto request = build_call_request(opts, in, config->gateway.max_request_bytes);
    if (!request) {
        print_error(err, request.error());
        return exit_usage;
    }
    if (const auto problem = upstream::upstream_client_setting_problem()) {
        print_error(err, *problem);
        return exit_usage;
    }

    const routing::RequestFacts facts{
        request->method, request->target, &request->headers, request->body,
        request->has_body ? std::optional<std::uint64_t>(request->body.size()) : std::nullopt};
    const auto decision = routing::route(*config, facts);
    if (!decision) {
        const std::string& message = decision.error().for_terminal();
        print_error(err, message.substr(0, message.find(" Available services: ")));
        if (decision.error().kind == routing::RouteErrorKind::not_found) {
            err << "Available services: " << config->service_names() << '\n';
        }
        return exit_usage;
    }

    // As serve chooses it: X-Request-Id, X-Correlation-Id or X-Trace-Id, else a new one.
    const std::string request_id = server::choose_request_id(request->headers);
    auto upstream = outgoing_request(opts, *request, *decision, request_id, err);
    if (!upstream) return exit_usage;
    upstream->body = std::make_shared<const std::string>(std::move(request->body));
    const bool via = opts.via.has_value();
    const RequestPolicy policy = call_policy(decision->policy, opts, via);
    CallSinkOptions sink_options{opts.include, opts.text,  opts.quiet,
                                 via,          request_id, ::isatty(STDOUT_FILENO) == 1};

    if (policy.total_timeout_ms > 0) {
        out.give_up_at(std::chrono::steady_clock::now() +
                       std::chrono::milliseconds(policy.total_timeout_ms));
    }
    std::signal(SIGPIPE, SIG_IGN);  // a closed stdout is an EPIPE from write(), not a kill
    install_interrupt_handlers();
    // libcurl is initialised by the first request that needs it (not one to http://).
    return run_exchange(std::move(*upstream), policy, std::move(sink_options), out, err);
}

}  // namespace llmgw::cli
