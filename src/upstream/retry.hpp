// The retry rules of SPEC §4 as pure functions, so serve and call share them and tests can
// check every bound without timing anything.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string_view>

#include "util/gateway_error.hpp"
#include "util/headers.hpp"
#include "util/request_policy.hpp"

namespace llmgw::upstream {

// Backoff before attempt n (n = 1 is the first retry): base = min(100 * 2^(n-1), 5000) ms,
// plus jitter in [-15 %, +15 %] of base chosen by `unit` in [0, 1), never under 100 ms.
std::int64_t backoff_delay_ms(int retry_number, double unit);
// The same with a thread-local random source.
std::int64_t backoff_delay_ms(int retry_number);

// Retry-After as delta-seconds or an HTTP date; nullopt when absent or unparsable. Past 10^9
// seconds (any number of digits, or a date that far off) it is kRetryAfterFarMs: an upstream
// that says "not for a very long time" is not retried at once as if it had said nothing.
inline constexpr std::int64_t kRetryAfterFarMs = 1000000000LL * 1000;
std::optional<std::int64_t> parse_retry_after_ms(std::string_view value,
                                                 std::chrono::system_clock::time_point now);

// retry-after-ms (the OpenAI APIs' wait in milliseconds, "1500" or "1500.5"); nullopt when
// unparsable. Past 10^12 ms it is kRetryAfterFarMs, as Retry-After is.
std::optional<std::int64_t> parse_retry_after_ms_field(std::string_view value);

// What an upstream's error answer says about a retry, read as the OpenAI and Anthropic SDKs
// read it: the wait (retry-after-ms first, then Retry-After), and x-should-retry: false (in
// any of its fields), which refuses one (true is not taken to retry a status that is not).
struct RetryHints {
    std::optional<std::int64_t> retry_after_ms;
    bool refused = false;
};
RetryHints retry_hints(const Headers& headers, std::chrono::system_clock::time_point now);

// 500, 502, 503, 504, 529; 429 only with a Retry-After of at most max_retry_after_ms.
bool is_retryable_status(int status, std::optional<std::int64_t> retry_after_ms,
                         std::int64_t max_retry_after_ms);

// The wait before the next attempt: Retry-After (capped) when the upstream gave one,
// else the backoff.
std::int64_t next_delay_ms(int retry_number, std::optional<std::int64_t> retry_after_ms,
                           std::int64_t max_retry_after_ms);

}  // namespace llmgw::upstream
