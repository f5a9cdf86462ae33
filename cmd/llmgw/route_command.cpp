#include "route_command.hpp"

#include <algorithm>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <ostream>

#include "routing/router.hpp"
#include "routing/target.hpp"
#include "server/head_checks.hpp"
#include "util/redact.hpp"
#include "util/strings.hpp"

namespace llmgw::cli {

namespace {

const char* const kFooter =
    R"(Runs the routing code of the gateway on the request and prints its decision: lane, rule
and reason, service, upstream URL, timeouts, retries, fallback and the response size limit.
Nothing is sent anywhere.

METHOD defaults to GET, or POST when -d is given. With -d and no Content-Type header the
body is sent as application/json. A Content-Length header overrides the body's size, so a
large upload can be tried without a file. A request the gateway answers itself is said to
be: OPTIONS (204, the CORS preflight), a GET or HEAD of /health, /gateway/health or /
(200, its own pages), a body over max_request_bytes (413; no more of it is read), and a
head its HTTP parser refuses (400: faulty framing, two Host fields or an invalid one; 501:
a transfer coding other than chunked; 431: over 16 KiB, 414 when the request line does not
end within them).

Examples:
  llmgw route /gateway/openai/v1/models
  llmgw route POST /gateway/openai/v1/chat/completions -d '{"model": "gpt-4o", "stream": true}'
  llmgw route POST /gateway/openai/v1/embeddings -d @request.json
  llmgw route POST /gateway/openai/v1/files -H 'Content-Length: 5000000'
  llmgw route POST http://127.0.0.1:8787/gateway/gemini/v1beta/models/gemini-pro:streamGenerateContent
  echo '{"stream": true}' | llmgw route /gateway/claude/v1/messages -d @- --json)";

// Everything route() needs, owned here so the facts' views stay valid.
struct Request {
    std::string method;
    std::string target;
    Headers headers;
    std::vector<std::string> removed;  // -H 'Name:' (no -H gives Name): not added by default
    bool body_given = false;           // -d
    std::string body;
    // The body's size as serve counts it: the Content-Length its parser took, or a chunked
    // body's bytes (serve reads it whole first); set once the head is checked.
    std::optional<std::uint64_t> content_length;
};

// Of a -d @FILE or @- body over `max_body` only its first `max_body` + 1 bytes are read: serve
// answers 413 to it whatever follows.
Result<Request> build_request(const RouteOptions& opts, std::FILE* in, std::uint64_t max_body) {
    if (opts.args.empty() || opts.args.size() > 2) {
        return unexpected("expected [METHOD] PATH, not " + std::to_string(opts.args.size()) +
                          " arguments");
    }
    if (opts.method && opts.args.size() == 2) {
        return unexpected("the method is given twice: as -X " + *opts.method + " and as '" +
                          opts.args[0] + "'");
    }
    const std::string* method_word = opts.method             ? &*opts.method
                                     : opts.args.size() == 2 ? &opts.args[0]
                                                             : nullptr;
    Request request;
    request.method = method_word       ? str::method_as_meant(*method_word)
                     : opts.body.given ? "POST"
                                       : "GET";
    if (!str::is_token(request.method)) {
        return unexpected("'" + *method_word + "' is not an HTTP method");
    }
    auto target = request_target_from(opts.args.back());
    if (!target) return unexpected(target.error());
    request.target = std::move(*target);
    auto args = read_request_args(opts.headers, opts.body, in, max_body);
    if (!args) return unexpected(args.error());
    request.headers = std::move(args->headers);
    request.removed = std::move(args->removed);
    request.body_given = opts.body.given;
    request.body = std::move(args->body);
    return request;
}

// The alias the target used, when it named the service by one.
std::optional<std::string> alias_used(const Request& request, const config::Service& service) {
    const auto target = routing::parse_target(request.target);
    if (!target || str::iequals(target->service, service.name)) return std::nullopt;
    return std::string(target->service);
}

std::string join(const std::vector<std::string>& items) {
    std::string out;
    for (const auto& item : items) out += (out.empty() ? "" : ", ") + item;
    return out;
}

std::string ms_or_none(std::int64_t ms) { return ms > 0 ? std::to_string(ms) + "ms" : "none"; }

// Which setting turned a switch off: the environment variable when it is set (it wins over
// the user file), else the user file's key.
std::string switched_off(const char* variable, const char* key) {
    const char* value = std::getenv(variable);
    if (value != nullptr && !str::trim(value).empty()) return std::string(variable) + " is off";
    return std::string(key) + " = false in the user file";
}

std::string retry_text(const routing::Decision& d, const config::Config& config,
                       const Request& request) {
    const auto& methods = d.service->retry_methods;
    if (d.policy.retry.enabled) {
        const int n = d.policy.retry.max_retries;
        return "up to " + std::to_string(n) + (n == 1 ? " retry" : " retries") + " (methods " +
               join(methods) + ")";
    }
    if (!config.gateway.enable_retry)
        return "none (" + switched_off("ENABLE_RETRY", "enable_retry") + ")";
    if (std::find(methods.begin(), methods.end(), request.method) == methods.end()) {
        return "none (" + request.method + " is not in retry_methods: " + join(methods) + ")";
    }
    return "none";
}

std::string fallback_text(const routing::Decision& d, const config::Config& config) {
    if (d.lane == routing::Lane::edge) return "no (already on the edge lane)";
    if (d.policy.fallback_eligible) {
        return "yes (once on the edge lane if the background lane is full or the connection "
               "fails)";
    }
    if (!config.gateway.enable_fallback) {
        return "no (" + switched_off("ENABLE_FALLBACK", "enable_fallback") + ")";
    }
    return "no (fallback = false for " + d.service->name + ")";
}

void print_text(std::ostream& out, const routing::Decision& d, const config::Config& config,
                const Request& request) {
    const auto alias = alias_used(request, *d.service);
    std::vector<std::pair<std::string, std::string>> lines{
        {"request", request.method + " " + redact_target(request.target)}};
    if (request.content_length) {
        lines.emplace_back("body", std::to_string(*request.content_length) + " bytes");
    }
    lines.insert(lines.end(),
                 {{"lane", std::string(routing::to_string(d.lane))},
                  {"rule", std::string(routing::to_string(d.rule))},
                  {"reason", d.reason},
                  {"service", d.service->name + (alias ? " (alias " + *alias + ")" : "")},
                  {"upstream url", redact_target(d.upstream_url)},
                  {"headers timeout", ms_or_none(d.policy.headers_timeout_ms)},
                  {"total timeout", ms_or_none(d.policy.total_timeout_ms)},
                  {"idle timeout", ms_or_none(d.policy.idle_timeout_ms)},
                  {"retries", retry_text(d, config, request)},
                  {"fallback", fallback_text(d, config)},
                  {"max response bytes",
                   d.policy.max_response_bytes == 0
                       ? "none"
                       : std::to_string(d.policy.max_response_bytes) + " (" +
                             str::format_megabytes(d.policy.max_response_bytes) + ")"}});
    print_key_values(out, lines);
}

nlohmann::ordered_json positive_or_null(std::int64_t ms) {
    return ms > 0 ? nlohmann::ordered_json(ms) : nlohmann::ordered_json(nullptr);
}

void print_json(std::ostream& out, const routing::Decision& d, const Request& request) {
    const auto alias = alias_used(request, *d.service);
    nlohmann::ordered_json j;
    j["method"] = request.method;
    j["target"] = redact_target(request.target);
    j["body_bytes"] = request.content_length ? nlohmann::ordered_json(*request.content_length)
                                             : nlohmann::ordered_json(nullptr);
    j["lane"] = routing::to_string(d.lane);
    j["rule"] = routing::to_string(d.rule);
    j["reason"] = d.reason;
    j["service"] = d.service->name;
    j["alias"] = alias ? nlohmann::ordered_json(*alias) : nlohmann::ordered_json(nullptr);
    j["upstream_url"] = redact_target(d.upstream_url);
    j["headers_timeout_ms"] = d.policy.headers_timeout_ms;
    j["total_timeout_ms"] = positive_or_null(d.policy.total_timeout_ms);
    j["idle_timeout_ms"] = positive_or_null(d.policy.idle_timeout_ms);
    j["retry_enabled"] = d.policy.retry.enabled;
    j["max_retries"] = d.policy.retry.max_retries;
    j["retry_methods"] = d.service->retry_methods;
    j["fallback_eligible"] = d.policy.fallback_eligible;
    j["max_response_bytes"] = d.policy.max_response_bytes == 0
                                  ? nlohmann::ordered_json(nullptr)
                                  : nlohmann::ordered_json(d.policy.max_response_bytes);
    // The path passes byte for byte, so it may hold bytes that are not UTF-8.
    out << j.dump(2, ' ', false, nlohmann::ordered_json::error_handler_t::replace) << '\n';
}

// A request serve answers itself, before routing: a head its parser or its checks refuse
// (faulty framing, 400; a transfer coding other than chunked, 501; a body announced over
// max_request_bytes, 413; and the like), a chunked body that grows over the limit (413), every
// OPTIONS (the CORS preflight), a GET or HEAD of /health, /gateway/health or / (its own
// pages). Nothing of it is sent upstream.
struct OwnAnswer {
    int status;
    std::string why;
};

// The head curl would send for this request, which serve reads: the request line, a Host,
// the -H fields as given, and the length of a -d body unless -H gave one or a chunked coding
// (a name -H removed is not added back). Without the User-Agent and Accept lines curl adds:
// a head within some 40 bytes of the 16 KiB limit may be judged on the near side of it.
std::string head_of(const Request& request) {
    const auto removed = [&request](std::string_view name) {
        return std::any_of(request.removed.begin(), request.removed.end(),
                           [name](const std::string& r) { return str::iequals(r, name); });
    };
    std::string head = request.method + " " + request.target + " HTTP/1.1\r\n";
    if (!request.headers.contains("Host") && !removed("Host")) {
        head += "Host: 127.0.0.1:8787\r\n";
    }
    for (const HeaderField field : request.headers) {
        head.append(field.name).append(": ").append(field.value).append("\r\n");
    }
    const auto coding = request.headers.get("Transfer-Encoding");
    if (request.body_given && !request.headers.contains("Content-Length") &&
        !removed("Content-Length") && !(coding && str::icontains(*coding, "chunked"))) {
        head += "Content-Length: " + std::to_string(request.body.size()) + "\r\n";
    }
    return head + "\r\n";
}

// Checks the head as serve would, and sets request.content_length as serve counts it.
std::optional<OwnAnswer> own_answer(Request& request, const config::Config& config) {
    const std::uint64_t limit = config.gateway.max_request_bytes;
    const server::HeadOutcome head = server::check_request_head(head_of(request), limit);
    const auto answer = [](const server::Refusal& refused) {
        return OwnAnswer{refused.status,
                         std::string(to_string(refused.type)) + ": " + refused.message};
    };
    if (head.refusal) return answer(*head.refusal);
    if (head.chunked) {
        if (request.body_given) request.content_length = request.body.size();
        if (request.body.size() > limit) return answer(server::refusal_of_large_body(limit));
    } else {
        request.content_length = head.content_length;
    }
    if (request.method == "OPTIONS") return OwnAnswer{204, "the CORS preflight"};
    if (request.method == "GET" || request.method == "HEAD") {
        const auto target = routing::parse_target(request.target);
        if (target && target->kind == routing::TargetKind::health) {
            return OwnAnswer{200, "the health check"};
        }
        if (target && target->kind == routing::TargetKind::root) {
            return OwnAnswer{200, "the welcome page"};
        }
    }
    return std::nullopt;
}

void print_own_answer(std::ostream& out, const Request& request, const OwnAnswer& answer,
                      bool json) {
    if (json) {
        nlohmann::ordered_json j;
        j["method"] = request.method;
        j["target"] = redact_target(request.target);
        j["answered_by_gateway"] = true;
        j["status"] = answer.status;
        j["reason"] = answer.why;
        out << j.dump(2, ' ', false, nlohmann::ordered_json::error_handler_t::replace) << '\n';
        return;
    }
    print_key_values(out, {{"request", request.method + " " + redact_target(request.target)},
                           {"answered", "by the gateway itself: " + std::to_string(answer.status) +
                                            ", " + answer.why + "; not sent upstream"}});
}

}  // namespace

void add_route_command(CLI::App& app, Command& selected) {
    auto opts = std::make_shared<RouteOptions>();
    CLI::App* sub = app.add_subcommand(
        "route", "Explain how a request would be routed: lane, rule, service, upstream URL");
    sub->footer(kFooter);
    sub->add_option("PATH", opts->args,
                    "METHOD: GET by default, POST with -d\n"
                    "PATH: /gateway/{service}/{path}[?query], or a full URL\n"
                    "      such as http://127.0.0.1:8787/gateway/openai/v1/models")
        ->option_text("[METHOD] PATH")
        ->required()
        ->expected(1, 2)
        // Every word kept, for build_request to refuse more than two (the app's TakeLast
        // dropped all but the last two without a word).
        ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
    sub->add_option("-X,--request", opts->method, "HTTP method, as the first argument may give it")
        ->type_name("METHOD");
    add_header_option(*sub, opts->headers);
    add_data_options(*sub, opts->body);
    add_config_option(*sub, opts->config);
    sub->add_flag("--json", opts->json, "Print the decision as a JSON object");
    sub->callback([opts, &selected] {
        selected = [opts] { return run_route(*opts, stdin, std::cout, std::cerr); };
    });
}

int run_route(const RouteOptions& opts, std::FILE* in, std::ostream& out, std::ostream& err) {
    const auto config = load_config_or_report(opts.config, err);
    if (!config) return exit_usage;
    auto request = build_request(opts, in, config->gateway.max_request_bytes);
    if (!request) {
        print_error(err, request.error());
        return exit_usage;
    }
    // `llmgw route openai /gateway/openai/...`: the service is in the path; a method named
    // as the very service the path names is a slip, however valid a token (a service called
    // "search" does not make SEARCH a slip for another one). So is call's form,
    // `llmgw route openai /v1/models`, a service before a path that is no gateway path, unless
    // the word reads as a method: a standard one in any case, or one in upper case (a service
    // called "post" or "search" leaves POST and SEARCH methods).
    const auto target = routing::parse_target(request->target);
    const std::string& word = opts.args[0];
    const config::Service* named = opts.args.size() == 2 ? config->find(word) : nullptr;
    const bool reads_as_method = str::method_as_meant(word) != word || str::to_upper(word) == word;
    if (named != nullptr && target &&
        (named == config->find(target->service) ||
         (target->kind == routing::TargetKind::unknown && !reads_as_method))) {
        const std::string path = target->kind == routing::TargetKind::unknown
                                     ? "/gateway/" + str::to_lower(word) + request->target
                                     : request->target;
        print_error(err, "'" + word +
                             "' is a service, not an HTTP method: the path names the service "
                             "(llmgw route [METHOD] " +
                             path + ")");
        return exit_usage;
    }
    if (const auto answer = own_answer(*request, *config)) {
        print_own_answer(out, *request, *answer, opts.json);
        return exit_ok;
    }

    const routing::RequestFacts facts{request->method, request->target, &request->headers,
                                      request->body, request->content_length};
    const auto decision = routing::route(*config, facts);
    if (!decision) {
        // The routing message may end with the list for HTTP clients; here it gets its own line.
        const std::string& message = decision.error().for_terminal();
        print_error(err, message.substr(0, message.find(" Available services: ")));
        err << "Available services: " << config->service_names() << '\n';
        return exit_usage;
    }
    if (opts.json) {
        print_json(out, *decision, *request);
    } else {
        print_text(out, *decision, *config, *request);
    }
    return exit_ok;
}

Result<std::string> request_target_from(std::string_view path_or_url) {
    std::string_view target = path_or_url;
    if (str::istarts_with(target, "http://") || str::istarts_with(target, "https://")) {
        target.remove_prefix(target.find("://") + 3);
        const std::size_t path_start = target.find_first_of("/?#");
        if (path_start == 0 || target.empty())
            return unexpected("URL '" + std::string(path_or_url) + "' has no host");
        target =
            path_start == std::string_view::npos ? std::string_view() : target.substr(path_start);
    } else if (target.empty() || target.front() != '/') {
        return unexpected("PATH '" + std::string(path_or_url) +
                          "' must start with /gateway/ or be a URL such as "
                          "http://127.0.0.1:8787/gateway/openai/v1/models");
    }
    target = target.substr(0, target.find('#'));
    if (target.empty() || target.front() != '/') return "/" + std::string(target);
    return std::string(target);
}

}  // namespace llmgw::cli
