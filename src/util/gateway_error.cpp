#include "util/gateway_error.hpp"

#include <chrono>
#include <nlohmann/json.hpp>

#include "util/ids.hpp"

namespace llmgw {

std::string_view to_string(ErrorType type) {
    switch (type) {
        case ErrorType::timeout: return "TIMEOUT";
        case ErrorType::network: return "NETWORK";
        case ErrorType::dns: return "DNS";
        case ErrorType::connection: return "CONNECTION";
        case ErrorType::ssl: return "SSL";
        case ErrorType::size_limit: return "SIZE_LIMIT";
        case ErrorType::bad_request: return "BAD_REQUEST";
        case ErrorType::not_found: return "NOT_FOUND";
        case ErrorType::overloaded: return "OVERLOADED";
        case ErrorType::unknown: return "UNKNOWN";
    }
    return "UNKNOWN";
}

int http_status(ErrorType type) {
    switch (type) {
        case ErrorType::timeout: return 504;
        case ErrorType::network: return 502;
        case ErrorType::dns: return 502;
        case ErrorType::connection: return 503;
        case ErrorType::ssl: return 502;
        case ErrorType::size_limit: return 413;
        case ErrorType::bad_request: return 400;
        case ErrorType::not_found: return 404;
        case ErrorType::overloaded: return 503;
        case ErrorType::unknown: return 500;
    }
    return 500;
}

bool is_retryable(ErrorType type) {
    return type == ErrorType::timeout || type == ErrorType::network ||
           type == ErrorType::connection || type == ErrorType::dns;
}

bool is_fallback_trigger(ErrorType type) {
    return type == ErrorType::connection || type == ErrorType::network || type == ErrorType::dns;
}

std::string error_body(const GatewayError& error, std::string_view request_id, int status) {
    // SPEC §7's fields, and the few each SDK's schema needs to read its message rather than
    // fail on the body (a status text, a validation error): the top-level type, message, code
    // and sequence_number (Anthropic's and Cohere's errors, the OpenAI Responses stream's error
    // event), error.status (Gemini's, with error.code), error.code and error.param (OpenAI's,
    // null: OpenAI's codes are words, and a number there is read as a status by some SDKs).
    nlohmann::ordered_json j;
    j["type"] = "error";
    j["message"] = error.message;
    j["code"] = nullptr;
    j["sequence_number"] = 0;
    j["error"]["message"] = error.message;
    j["error"]["type"] = to_string(error.type);
    j["error"]["code"] = nullptr;
    j["error"]["status"] = to_string(error.type);
    j["error"]["param"] = nullptr;
    j["error"]["request_id"] = request_id;
    j["error"]["timestamp"] = iso8601_utc(std::chrono::system_clock::now());
    j["status"] = status;
    return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace llmgw
