#include "routing/router.hpp"

#include <optional>
#include <string>

#include "routing/target.hpp"
#include "util/strings.hpp"

namespace llmgw::routing {
namespace {

// Methods are case-sensitive (RFC 9110 §9.1): "get" is an extension method, not GET.
bool is_edge_method(std::string_view method) {
    return method == "GET" || method == "HEAD" || method == "OPTIONS";
}

// Exactly a parameter named "stream" with the value "true" among the &-separated ones.
bool query_has_stream_true(std::string_view query) {
    for (const std::string_view param : str::split(query, '&')) {
        if (param == "stream=true") return true;
    }
    return false;
}

bool accepts_event_stream(const Headers& headers) {
    for (const HeaderField& field : headers) {
        if (str::iequals(field.name, "Accept") &&
            str::icontains(field.value, "text/event-stream")) {
            return true;
        }
    }
    return false;
}

// application/json, with or without parameters such as "; charset=utf-8".
bool is_json_content_type(const Headers& headers) {
    const std::optional<std::string_view> value = headers.get("Content-Type");
    if (!value) return false;
    const std::string_view media_type = str::trim(value->substr(0, value->find(';')));
    return str::iequals(media_type, "application/json");
}

// Where the key "stream" is first written plainly: those eight bytes, quotes included. Found
// from its rare last letter; a search from '"' or 's' stops at nearly every word of a chat.
std::size_t find_plain_stream_key(std::string_view body) {
    constexpr std::string_view kKey = "\"stream\"";
    for (std::size_t m = body.find('m', 6); m != std::string_view::npos; m = body.find('m', m + 1)) {
        if (body.substr(m - 6, kKey.size()) == kKey) return m - 6;
    }
    return std::string_view::npos;
}

// Whether a top-level "stream": true can be in the body at all, without the full scan (which
// costs milliseconds on a large vision or embedding body). The value true is a literal, never
// escaped, and follows its key; the key is "stream" written plainly, or spelled with \u escapes.
bool may_hold_stream_true(std::string_view body) {
    const std::size_t key = find_plain_stream_key(body);
    if (key != std::string_view::npos && body.find("true", key + 8) != std::string_view::npos) {
        return true;
    }
    return body.find("\\u") != std::string_view::npos && body.find("true") != std::string_view::npos;
}

std::uint64_t body_size(const RequestFacts& facts) {
    return facts.content_length.value_or(facts.body.size());
}

bool json_body_streams(const config::Config& config, const RequestFacts& facts,
                       const Headers& headers) {
    const std::uint64_t limit = config.routing.stream_peek_bytes;
    if (!is_json_content_type(headers) || facts.body.size() > limit || body_size(facts) > limit) {
        return false;
    }
    if (!may_hold_stream_true(facts.body)) return false;
    return peek_json_stream_flag(facts.body) == JsonStreamFlag::is_true;
}

// The stream signal that matched, as the reason names it; empty when none did.
std::string_view stream_signal(const config::Config& config, const RequestFacts& facts,
                               const Headers& headers, const Target& target) {
    if (target.has_query && query_has_stream_true(target.query)) return "query stream=true";
    if (accepts_event_stream(headers)) return "Accept: text/event-stream";
    if (target.upstream_path.ends_with(":streamGenerateContent")) {
        return "Gemini :streamGenerateContent";
    }
    if (json_body_streams(config, facts, headers)) return "JSON body \"stream\": true";
    return {};
}

// The long-running prefix or method suffix that matched; empty when none did.
// Each candidate is first tried on one byte, its last (a prefix's) or first (a suffix's): the
// defaults share their first bytes ("/v1/"), so most differ there, and the full comparison (a
// call) runs only for those that match it.
std::string_view long_running_match(const config::RoutingSettings& routing, std::string_view path) {
    for (const std::string& prefix : routing.long_prefixes) {
        if (!prefix.empty() && prefix.size() <= path.size() &&
            path[prefix.size() - 1] == prefix.back() && path.starts_with(prefix)) {
            return prefix;
        }
    }
    // Gemini puts the method after a colon on the last segment: /v1beta/models/m:embedContent.
    const std::string_view last_segment = path.substr(path.rfind('/') + 1);
    for (const std::string& suffix : routing.long_suffixes) {
        if (!suffix.empty() && suffix.size() <= last_segment.size() &&
            last_segment[last_segment.size() - suffix.size()] == suffix.front() &&
            last_segment.ends_with(suffix)) {
            return suffix;
        }
    }
    return {};
}

void classify(const config::Config& config, const RequestFacts& facts, const Target& sent,
              Decision& decision) {
    // Rules read the path as the upstream will (".../m%3AembedContent" is m:embedContent);
    // the URL keeps the bytes as sent. parse_target has checked every escape (no %2F).
    std::optional<std::string> decoded;
    Target target = sent;
    if (sent.upstream_path.find('%') != std::string_view::npos) {
        decoded = str::percent_decode(sent.upstream_path);
        if (decoded) target.upstream_path = *decoded;
    }
    static const Headers kNoHeaders;
    const Headers& headers = facts.headers != nullptr ? *facts.headers : kNoHeaders;
    const auto decide = [&](Lane lane, Rule rule, std::string reason) {
        decision.lane = lane;
        decision.rule = rule;
        decision.reason = std::move(reason);
    };

    if (is_edge_method(facts.method)) {
        return decide(Lane::edge, Rule::method, "Method suitable for edge");
    }
    if (const std::string_view signal = stream_signal(config, facts, headers, target);
        !signal.empty()) {
        decision.streaming = true;
        return decide(Lane::edge, Rule::stream, "Streaming request (" + std::string(signal) + ")");
    }
    if (const std::string_view match = long_running_match(config.routing, target.upstream_path);
        !match.empty()) {
        return decide(Lane::background, Rule::long_running,
                      "Long-running API (" + std::string(match) + ")");
    }
    if (const std::uint64_t size = body_size(facts); size > config.routing.large_body_bytes) {
        return decide(Lane::background, Rule::large,
                      "Large request body: " + str::format_megabytes(size));
    }
    decide(Lane::edge, Rule::default_rule, "Default to edge");
}

RouteError bad_request(std::string message) {
    return RouteError{RouteErrorKind::bad_request, std::move(message)};
}

RouteError not_a_proxy_target(const config::Config& config, const Target& target) {
    if (target.kind == TargetKind::gateway_bare) {
        return bad_request(
            "Missing upstream path: use /gateway/{service}/{path}, e.g. "
            "/gateway/openai/v1/chat/completions. Available services: " +
            config.service_names());
    }
    return bad_request("Not a gateway path: use /gateway/{service}/{path}");
}

}  // namespace

Result<Decision, RouteError> route(const config::Config& config, const RequestFacts& facts) {
    const Result<Target, TargetError> parsed = parse_target(facts.target);
    if (!parsed) return unexpected(bad_request("Invalid path: " + parsed.error().reason));
    return route(config, facts, *parsed);
}

Result<Decision, RouteError> route(const config::Config& config, const RequestFacts& facts,
                                   const Target& target) {
    if (target.kind != TargetKind::proxy) return unexpected(not_a_proxy_target(config, target));

    const config::Service* service = config.find(target.service);
    if (service == nullptr) {
        if (const config::Service* off = config.find_disabled(target.service)) {
            // The file that disabled it only on the command line: a client of the gateway
            // learns nothing of the machine's paths.
            const bool alias = !str::iequals(off->name, target.service);
            const std::string what = "Service '" + std::string(target.service) + "'" +
                                     (alias ? " (an alias of " + off->name + ")" : "") +
                                     " is disabled";
            const std::string list = ". Available services: " + config.service_names();
            return unexpected(
                RouteError{RouteErrorKind::not_found, what + " (enabled = false)" + list,
                           what + " (enabled = false, from " + off->origin + ")" + list});
        }
        return unexpected(RouteError{RouteErrorKind::not_found,
                                     "Unknown service '" + std::string(target.service) +
                                         "'. Available services: " + config.service_names()});
    }

    Decision decision;
    decision.service = service;
    std::string& url = decision.upstream_url;  // sized once: base, path, '?', query
    url.reserve(service->base_url.text.size() + target.upstream_path.size() +
                (target.has_query ? 1 + target.query.size() : 0));
    url.append(service->base_url.text).append(target.upstream_path);
    if (target.has_query) url.append(1, '?').append(target.query);
    classify(config, facts, target, decision);
    decision.policy = policy_for(config, *service, decision.lane, facts.method);
    return decision;
}

}  // namespace llmgw::routing
