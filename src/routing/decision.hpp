// The routing engine's answer for one request: lane, rule, reason, service, upstream URL, and
// the per-request policy (timeouts, retries, fallback, limits) that serve, call and route share.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/service.hpp"
#include "util/request_policy.hpp"

namespace llmgw::routing {

enum class Lane { edge, background };
enum class Rule { method, stream, long_running, large, default_rule };

std::string_view to_string(Lane lane);
std::string_view to_string(Rule rule);  // "method", "stream", "long", "large", "default"

using RetryPolicy = llmgw::RetryPolicy;
using RequestPolicy = llmgw::RequestPolicy;

struct Decision {
    Lane lane = Lane::edge;
    Rule rule = Rule::default_rule;
    std::string reason;              // e.g. "Streaming request (JSON body \"stream\": true)"
    const config::Service* service = nullptr;
    std::string upstream_url;        // base_url + upstream path + "?" + query, byte for byte
    // "/v1/chat/completions" (with the query, as sent): the URL after the service's base.
    // Empty once the URL has been moved away (into the upstream request).
    std::string_view upstream_path() const {
        const std::size_t base = service != nullptr ? service->base_url.text.size() : 0;
        return base < upstream_url.size() ? std::string_view(upstream_url).substr(base)
                                          : std::string_view();
    }
    bool streaming = false;          // the stream rule matched
    RequestPolicy policy;
};

}  // namespace llmgw::routing
