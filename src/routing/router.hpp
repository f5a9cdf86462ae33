// The routing engine (SPEC §2): a pure function from request facts to a decision.
// `llmgw route`, `llmgw serve` and `llmgw call` all run exactly this code.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "config/config.hpp"
#include "routing/decision.hpp"
#include "routing/target.hpp"
#include "util/headers.hpp"
#include "util/result.hpp"

namespace llmgw::routing {

struct RequestFacts {
    std::string_view method;      // "POST"
    std::string_view target;      // origin-form: "/gateway/openai/v1/chat/completions?x=1"
    const Headers* headers = nullptr;
    std::string_view body;        // the body bytes read so far (all of it for serve and call)
    // Content-Length when the client sent one; else the body is chunked or absent and
    // body.size() is what counts.
    std::optional<std::uint64_t> content_length;
};

enum class RouteErrorKind { bad_request, not_found };

struct RouteError {
    RouteErrorKind kind = RouteErrorKind::bad_request;
    std::string message;  // complete sentence for the client and stderr
    // The same for the command line, where it may name a file the client must not see; empty:
    // `message`.
    std::string local_message{};
    const std::string& for_terminal() const {
        return local_message.empty() ? message : local_message;
    }
};

// Only for targets under /gateway/{service}/…; other routes are the server's.
Result<Decision, RouteError> route(const config::Config& config, const RequestFacts& facts);
// The same, for a caller that already parsed facts.target (the server: once per request).
Result<Decision, RouteError> route(const config::Config& config, const RequestFacts& facts,
                                   const Target& target);

// Lane policy alone, for a service and lane (used by route() and for the fallback attempt).
RequestPolicy policy_for(const config::Config& config, const config::Service& service, Lane lane,
                         std::string_view method);

// Top-level "stream" of a JSON object: true only for the boolean true.
enum class JsonStreamFlag { absent, is_true, other, invalid_json };
JsonStreamFlag peek_json_stream_flag(std::string_view body);

}  // namespace llmgw::routing
