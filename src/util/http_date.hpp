// The Date field of every answer (RFC 9110 §6.6.1): now as an IMF-fixdate,
// "Sun, 06 Nov 1994 08:49:37 GMT". Written on every response, so it is formatted once a second
// per thread, not per response.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace llmgw {

inline constexpr std::size_t kHttpDateSize = 29;

// Writes the IMF-fixdate of `unix_seconds` (UTC) into out[0, kHttpDateSize).
void format_http_date(std::int64_t unix_seconds, char* out);

// Now as an IMF-fixdate, from a per-thread copy made at most once a second: it is kept until the
// steady clock (steady_now(): a HeldClock's reading inside a handler) passes the next second of
// the system clock. No lock, no allocation, one comparison; the view stays valid on this thread
// until the next call.
std::string_view http_date_now();

}  // namespace llmgw
