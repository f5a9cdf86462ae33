// The per-request policy that the routing engine decides and the upstream exchange enforces:
// timeouts, retries and limits. Plain numbers, so both layers share it without depending on
// each other (util ← routing, util ← upstream).
#pragma once

#include <cstdint>

namespace llmgw {

struct RetryPolicy {
    bool enabled = false;        // ENABLE_RETRY and the method is in retry_methods
    int max_retries = 0;         // extra attempts
    std::int64_t max_retry_after_ms = 10000;
};

struct RequestPolicy {
    // Until upstream response headers, one clock for every attempt of the exchange (edge:
    // timeout_ms or DEFAULT_TIMEOUT). So a TIMEOUT at this deadline ends the exchange: no
    // attempt has a shorter budget of its own, and restarting a completion the upstream may
    // still be producing would only pay for it twice. (A transport's own earlier TIMEOUT, the
    // system's connect timeout, is retried: nothing was sent.)
    std::int64_t headers_timeout_ms = 20000;
    // Covers every attempt and the whole exchange; 0 = no total cap (edge).
    std::int64_t total_timeout_ms = 0;
    // Longest silence between body bytes once headers arrived; 0 = none.
    std::int64_t idle_timeout_ms = 120000;
    RetryPolicy retry;
    bool fallback_eligible = false;          // background → edge once (SPEC §3)
    std::uint64_t max_response_bytes = 0;    // 0 = none

    // How long every attempt together may wait for response headers: the headers deadline,
    // or the total one when that comes first.
    std::int64_t head_budget_ms() const {
        return total_timeout_ms > 0 && total_timeout_ms < headers_timeout_ms ? total_timeout_ms
                                                                             : headers_timeout_ms;
    }
};

}  // namespace llmgw
