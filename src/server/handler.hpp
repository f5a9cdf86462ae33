// What the gateway does with one complete request (SPEC §9). Pure: no sockets, no clocks
// beyond the uptime it is given. The session executes the plan.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "config/config.hpp"
#include "routing/decision.hpp"
#include "server/http_out.hpp"
#include "upstream/request.hpp"
#include "util/gateway_error.hpp"
#include "util/headers.hpp"

namespace llmgw::server {

struct IncomingRequest {
    std::string_view method;
    std::string_view target;
    const Headers* headers = nullptr;
    std::shared_ptr<const std::string> body;
    std::optional<std::uint64_t> content_length;
};

// A response the gateway makes itself (health, welcome page, preflight, errors).
struct Reply {
    int status = 200;
    Headers headers;
    std::string body;
};

// A request to relay upstream.
struct ProxyPlan {
    routing::Decision decision;          // its upstream_url is moved into request.url
    upstream::UpstreamRequest request;
};

struct HandlerResult {
    std::string request_id;
    std::variant<Reply, ProxyPlan> action;
    std::string error_type;  // for the log when the reply is a gateway error
};

struct HandlerContext {
    const config::Config* config = nullptr;
    std::chrono::steady_clock::time_point started;
    std::string address;  // as listened on, "127.0.0.1:8787" (the bound port when 0 was asked)
};

HandlerResult handle_request(const HandlerContext& ctx, const IncomingRequest& request);

// The gateway error handle_request gives a request whatever its body: an invalid path, an
// unknown service or route (none of its errors reads the body). Nothing when its answer is no
// error, which may depend on the body. The session answers an `Expect: 100-continue` with it in
// place of the 100 (RFC 9110 §10.1.1).
std::optional<HandlerResult> refusal_before_body(const HandlerContext& ctx, std::string_view method,
                                                 std::string_view target, const Headers& headers);

// The incoming request id when valid (X-Request-Id, X-Correlation-Id, X-Trace-Id), else a new one.
std::string choose_request_id(const Headers& request);

// A gateway-made JSON error with CORS and id headers (SPEC §7).
Reply error_reply(const config::Config& config, const Headers& request, std::string_view request_id,
                  ErrorType type, std::string_view message, int status = 0);

// Whether the upstream's Content-Type is text/event-stream.
bool is_event_stream(const Headers& upstream);
// A Content-Encoding other than identity: the body's bytes are not its text (no event of the
// gateway's own can be put among them).
bool has_content_coding(const Headers& upstream);

// Headers for a proxied response: the upstream's minus dropped ones, plus a Date if it sent
// none, ids, lane, timing, CORS and the SSE anti-buffering pair (SPEC §5), written straight
// into the head. Framing
// headers are the session's. `is_sse` is is_event_stream(upstream), known before the first
// field is written: an event stream's own caching headers are replaced wherever they stand.
struct OwnResponseFields {
    std::string_view request_id;
    routing::Lane lane = routing::Lane::edge;
    double processing_ms = 0;
    bool fell_back = false;
    // An error answer after the gateway's own retries: x-should-retry: false in place of the
    // upstream's, so SDKs do not multiply the retries (README, "Errors").
    bool retries_spent = false;
    // The Date field when the upstream sent none (RFC 9110 §6.6.1: a recipient that forwards
    // an answer without one adds it); the upstream's own is relayed as it is.
    std::string_view date;
};
// Returns the upstream's own request id, for the log: its X-Request-Id, else Anthropic's
// Request-Id (a view into `upstream`); empty when it sent neither.
std::string_view proxied_response_headers(HeadWriter& out, const config::Config& config,
                                          const Headers& request, const Headers& upstream,
                                          bool is_sse, const OwnResponseFields& own);

}  // namespace llmgw::server
