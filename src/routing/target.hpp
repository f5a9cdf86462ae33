// Splits and validates a request target (SPEC §9): which of the gateway's routes it names,
// and for the proxy route the service segment and the upstream path and query, which pass
// byte for byte. Anything that could leave the service's base_url is rejected with a reason.
#pragma once

#include <string>
#include <string_view>

#include "util/result.hpp"

namespace llmgw::routing {

enum class TargetKind {
    root,          // "/"
    health,        // "/health", "/gateway/health"
    gateway_bare,  // "/gateway", "/gateway/", "/gateway/{service}" (400 with help)
    proxy,         // "/gateway/{service}/{rest}"
    unknown,       // anything else (404)
};

struct Target {
    TargetKind kind = TargetKind::unknown;
    std::string_view service;       // the service segment as sent (proxy, gateway_bare)
    std::string_view upstream_path; // "/{rest}" exactly as sent, without the query
    std::string_view query;         // after '?', without it; empty when absent
    bool has_query = false;         // "?" was present (an empty query is kept too)
};

struct TargetError {
    std::string reason;  // e.g. "path contains a '..' segment"
};

// `target` is the origin-form request target ("/gateway/openai/v1/chat?x=1").
// Returned views point into `target`.
Result<Target, TargetError> parse_target(std::string_view target);

}  // namespace llmgw::routing
