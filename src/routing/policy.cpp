#include <algorithm>
#include <string>

#include "routing/router.hpp"

namespace llmgw::routing {

RequestPolicy policy_for(const config::Config& config, const config::Service& service, Lane lane,
                         std::string_view method) {
    const config::GatewaySettings& gateway = config.gateway;
    RequestPolicy policy;
    policy.idle_timeout_ms = gateway.stream_idle_timeout_ms;
    if (lane == Lane::edge) {
        // No total cap on the edge: a long completion may stream for minutes (SPEC §3 fix).
        policy.headers_timeout_ms = service.timeout_ms.value_or(gateway.default_timeout_ms);
        policy.total_timeout_ms = 0;
    } else {
        policy.headers_timeout_ms = gateway.background_timeout_ms;
        policy.total_timeout_ms = gateway.background_timeout_ms;
    }

    // Case-sensitive, as methods are (RFC 9110 §9.1); the table holds them in upper case.
    const bool method_retryable =
        std::find(service.retry_methods.begin(), service.retry_methods.end(), method) !=
        service.retry_methods.end();
    policy.retry.enabled = gateway.enable_retry && method_retryable && service.max_retries > 0;
    policy.retry.max_retries = policy.retry.enabled ? service.max_retries : 0;
    policy.retry.max_retry_after_ms = gateway.max_retry_after_ms;

    policy.fallback_eligible =
        lane == Lane::background && gateway.enable_fallback && service.fallback;
    policy.max_response_bytes = service.max_response_bytes.value_or(gateway.max_response_size);
    return policy;
}

}  // namespace llmgw::routing
