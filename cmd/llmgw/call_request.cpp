#include "call_request.hpp"

#include <algorithm>
#include <array>

#include "config/base_url.hpp"
#include "util/strings.hpp"

namespace llmgw::cli {

namespace {

// How much longer call waits than the gateway it goes through, so the gateway's own
// TIMEOUT answer arrives before call gives up.
constexpr std::int64_t kViaGraceMs = 5000;

constexpr std::array<std::string_view, 4> kCredentialHeaders{"authorization", "x-api-key",
                                                             "x-goog-api-key", "api-key"};

bool query_has_key(std::string_view target) {
    const std::size_t q = target.find('?');
    if (q == std::string_view::npos) return false;
    for (const std::string_view param : str::split(target.substr(q + 1), '&')) {
        if (param.substr(0, param.find('=')) == "key") return true;
    }
    return false;
}

}  // namespace

Result<CallRequest> build_call_request(const CallOptions& opts, std::FILE* in,
                                       std::uint64_t max_body) {
    CallRequest request;
    if (opts.service.empty() || opts.service.find_first_of("/?#%\\") != std::string::npos) {
        return unexpected("SERVICE '" + opts.service + "' is not a service name");
    }
    if (opts.path.empty() || opts.path.front() != '/') {
        return unexpected("PATH '" + opts.path + "' must start with '/', e.g. /v1/models");
    }
    request.method = opts.method       ? str::method_as_meant(*opts.method)
                     : opts.body.given ? "POST"
                                       : "GET";
    if (!str::is_token(request.method))
        return unexpected("'" + opts.method.value_or("") + "' is not an HTTP method");
    // A fragment never reaches a server; curl drops it too.
    request.target = "/gateway/" + opts.service + opts.path.substr(0, opts.path.find('#'));
    auto args = read_request_args(opts.headers, opts.body, in, max_body);
    if (!args) return unexpected(args.error());
    if (args->body.size() > max_body) return unexpected(body_over_limit(opts.body.spec, max_body));
    request.headers = std::move(args->headers);
    request.removed = std::move(args->removed);
    request.body = std::move(args->body);
    request.has_body = args->has_body;
    return request;
}

bool has_own_auth(const Headers& headers, const config::ApiKeyAuth& auth, std::string_view target) {
    if (!auth.header.empty() && headers.contains(auth.header)) return true;
    for (const std::string_view name : kCredentialHeaders) {
        if (headers.contains(name)) return true;
    }
    return query_has_key(target);
}

Result<bool> add_env_auth(Headers& headers, const config::ApiKeyAuth& auth, std::string_view target,
                          const config::EnvLookup& env) {
    if (auth.env.empty() || auth.header.empty() || has_own_auth(headers, auth, target)) {
        return false;
    }
    const std::optional<std::string> key = env(auth.env);
    // Blanks and line ends around it are no part of a key (a file read with a newline); a
    // control character inside would be sent as it is, or corrupt the head: refused, as -H
    // refuses one.
    const std::string_view value = key ? str::trim(*key) : std::string_view();
    if (value.empty()) return false;
    const auto is_control = [](char c) {
        return static_cast<unsigned char>(c) < 0x20 || c == 0x7F;
    };
    if (std::any_of(value.begin(), value.end(), is_control)) {
        return unexpected("the value of " + auth.env + " contains a control character");
    }
    headers.add(auth.header, auth.prefix + std::string(value));
    return true;
}

RequestPolicy call_policy(RequestPolicy policy, const CallOptions& opts, bool via) {
    if (via) {
        policy.retry.enabled = false;
        policy.retry.max_retries = 0;
        policy.max_response_bytes = 0;
        policy.headers_timeout_ms += kViaGraceMs;
        if (policy.total_timeout_ms > 0) policy.total_timeout_ms += kViaGraceMs;
        if (policy.idle_timeout_ms > 0) policy.idle_timeout_ms += kViaGraceMs;
    }
    if (opts.timeout_ms) {
        // The lane's own deadline: until the headers on the edge, the whole exchange on the
        // background lane (SPEC §3).
        policy.headers_timeout_ms = *opts.timeout_ms;
        if (policy.total_timeout_ms > 0) policy.total_timeout_ms = *opts.timeout_ms;
    }
    if (opts.retries) {
        policy.retry.enabled = *opts.retries > 0;
        policy.retry.max_retries = *opts.retries;
    }
    if (opts.max_time_ms && *opts.max_time_ms > 0) {
        // A cap on the whole exchange, as curl's -m: no deadline above may pass it, and the
        // edge lane, which has no total deadline of its own, gets this one.
        const std::int64_t cap = *opts.max_time_ms;
        policy.headers_timeout_ms = std::min(policy.headers_timeout_ms, cap);
        policy.total_timeout_ms =
            policy.total_timeout_ms > 0 ? std::min(policy.total_timeout_ms, cap) : cap;
    }
    return policy;
}

Result<std::string> via_url(std::string_view via, std::string_view target) {
    // The format of a service's base_url, checked by the same parser: http(s), a host, a port
    // of 1 to 65535, an optional prefix, no user info, query or control character.
    const auto base = config::parse_base_url(via);
    if (!base) {
        return unexpected("--via '" + std::string(via) + "': " + base.error() +
                          " (e.g. http://127.0.0.1:8787)");
    }
    return base->text + std::string(target);
}

}  // namespace llmgw::cli
