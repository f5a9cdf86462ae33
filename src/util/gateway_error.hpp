// The gateway's own error vocabulary (SPEC §7): type, HTTP status and the JSON body shape
// {"error":{"message","type","request_id","timestamp"},"status":N}, with the fields SDKs'
// error schemas need (error_body()).
#pragma once

#include <string>
#include <string_view>

namespace llmgw {

enum class ErrorType {
    timeout,     // 504
    network,     // 502
    dns,         // 502
    connection,  // 503
    ssl,         // 502
    size_limit,  // 413
    bad_request, // 400
    not_found,   // 404
    overloaded,  // 503
    unknown,     // 500
};

std::string_view to_string(ErrorType type);  // "TIMEOUT", "NETWORK", …
int http_status(ErrorType type);
// TIMEOUT, NETWORK, CONNECTION, DNS: worth another attempt (SPEC §4).
bool is_retryable(ErrorType type);
// CONNECTION, NETWORK, DNS: a background request may fall back to the edge lane (SPEC §3).
bool is_fallback_trigger(ErrorType type);

struct GatewayError {
    ErrorType type = ErrorType::unknown;
    std::string message;
    // No later attempt can succeed (libcurl could not be loaded; the upstream answered with a
    // head the gateway refuses, so a retry would send a POST it has answered again): not
    // retried, and the answer tells SDKs not to retry (x-should-retry: false), as it does after
    // the gateway's own retries.
    bool retry_cannot_help = false;
};

// The JSON body of a gateway-made error, with an explicit status (431 uses bad_request's shape).
std::string error_body(const GatewayError& error, std::string_view request_id, int status);
inline std::string error_body(const GatewayError& error, std::string_view request_id) {
    return error_body(error, request_id, http_status(error.type));
}

}  // namespace llmgw
