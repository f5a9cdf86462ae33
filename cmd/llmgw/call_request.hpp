// The request half of `llmgw call`: what the command line asks for, the API key from the
// environment, the policy the exchange runs under, and the URL of a --via gateway.
#pragma once

#include <cstdint>
#include <cstdio>
#include <iosfwd>
#include <optional>
#include <string>
#include <string_view>

#include "call_command.hpp"
#include "config/service.hpp"
#include "util/headers.hpp"
#include "util/request_policy.hpp"
#include "util/result.hpp"

namespace llmgw::cli {

struct CallRequest {
    std::string method;  // -X, else GET, or POST with -d
    std::string target;  // "/gateway/SERVICE/PATH[?query]", as `serve` would receive it
    Headers headers;     // -H, plus Content-Type: application/json with -d
    std::vector<std::string> removed;  // -H 'Name:' (no -H gives Name): llmgw adds none
    std::string body;
    bool has_body = false;
};

// Checks the arguments and reads the body (-d @FILE, -d @-), of `max_body` bytes at most (the
// max_request_bytes serve would take from a client).
Result<CallRequest> build_call_request(const CallOptions& opts, std::FILE* in,
                                       std::uint64_t max_body);

// True when the request authenticates by itself: the service's key header, a common
// credential header (Authorization, x-api-key, x-goog-api-key, api-key), or a `key` query
// parameter (Gemini).
bool has_own_auth(const Headers& headers, const config::ApiKeyAuth& auth, std::string_view target);

// Adds `header: prefix + $VAR` when the service names a variable that is set and not empty
// and the request has no auth of its own. The value never appears in the error text.
Result<bool> add_env_auth(Headers& headers, const config::ApiKeyAuth& auth, std::string_view target,
                          const config::EnvLookup& env);

// The routing decision's policy with --timeout and --retries applied. Through a gateway
// (`via`) the gateway retries and limits; call waits a little longer than the gateway would.
RequestPolicy call_policy(RequestPolicy policy, const CallOptions& opts, bool via);

// <via>/gateway/… for --via http(s)://host[:port][/prefix]; an error text for anything else.
Result<std::string> via_url(std::string_view via, std::string_view target);

}  // namespace llmgw::cli
