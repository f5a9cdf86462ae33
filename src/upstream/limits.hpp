// Limits and errors every transport applies the same way to an upstream's answer.
#pragma once

#include <chrono>
#include <cstddef>
#include <string>

#include "util/gateway_error.hpp"

namespace llmgw::upstream {

// Clients (Node, h11, nginx) refuse heads much larger than this; refusing them here gives a
// clear 502 rather than relaying something the SDK cannot parse.
inline constexpr std::size_t kMaxResponseHead = 64 * 1024;

// How soon after a request went out a failure before any answer byte still counts as a stale
// connection's (or a refused HTTP/2 stream's): within it the request may be sent again once
// (H1Attempt::replay, CurlAttempt::on_send); later, the upstream was at work on it.
inline constexpr std::chrono::seconds kReplayWithin{1};

inline GatewayError response_head_too_large() {
    return {ErrorType::network,
            "upstream response head exceeds " + std::to_string(kMaxResponseHead / 1024) + " KiB"};
}

inline GatewayError malformed_response_head() {
    return {ErrorType::network, "upstream sent a malformed response head"};
}

// A request the gateway will not write: `what` (a header's name, or "(method)") is not a
// valid HTTP token or value (a CR or LF would start a header of its own).
inline GatewayError unsendable_request(std::string_view what) {
    return {ErrorType::unknown, "refused to send the request upstream: " + std::string(what) +
                                    " is not a valid HTTP token or value"};
}

// A connection that ended before a byte of the answer, and the request not sent again.
inline GatewayError closed_without_answering() {
    return {ErrorType::network,
            "upstream network error: upstream closed the connection without answering"};
}

// 101 Switching Protocols: the gateway never asks for an upgrade (a client's is refused).
// The upstream answered, with a head the gateway refuses: retry_cannot_help.
inline GatewayError unasked_protocol_switch() {
    return {ErrorType::network, "upstream switched protocols (101) unasked", true};
}

}  // namespace llmgw::upstream
