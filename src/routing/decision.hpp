// The routing engine's answer for one request: lane, rule, reason, service, upstream URL, and
// the per-request policy (timeouts, retries, fallback, limits) that serve, call and route share.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/service.hpp"

namespace llmgw::routing {

enum class Lane { edge, background };
enum class Rule { method, stream, long_running, large, default_rule };

std::string_view to_string(Lane lane);
std::string_view to_string(Rule rule);  // "method", "stream", "long", "large", "default"

struct RetryPolicy {
    bool enabled = false;        // ENABLE_RETRY and the method is in retry_methods
    int max_retries = 0;         // extra attempts
    std::int64_t max_retry_after_ms = 10000;
};

struct RequestPolicy {
    // Until upstream response headers, per attempt (edge: timeout_ms or DEFAULT_TIMEOUT).
    std::int64_t headers_timeout_ms = 20000;
    // Covers every attempt and the whole exchange; 0 = no total cap (edge).
    std::int64_t total_timeout_ms = 0;
    // Longest silence between body bytes once headers arrived; 0 = none.
    std::int64_t idle_timeout_ms = 120000;
    RetryPolicy retry;
    bool fallback_eligible = false;          // background → edge once (SPEC §3)
    std::uint64_t max_response_bytes = 0;    // 0 = none
};

struct Decision {
    Lane lane = Lane::edge;
    Rule rule = Rule::default_rule;
    std::string reason;              // e.g. "Streaming request (JSON body \"stream\": true)"
    const config::Service* service = nullptr;
    std::string upstream_url;        // base_url + upstream path + "?" + query, byte for byte
    std::string upstream_path;       // "/v1/chat/completions" (with the query, as sent)
    bool streaming = false;          // the stream rule matched
    RequestPolicy policy;
};

}  // namespace llmgw::routing
