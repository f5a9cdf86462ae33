// Request ids and timestamps, as SPEC §7 and §8 spell them.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

namespace llmgw {

// A random UUID version 4, lower-case, 36 characters.
std::string new_uuid_v4();
// 1–128 characters of [A-Za-z0-9._:-].
bool is_valid_request_id(std::string_view id);
// 2026-01-01T00:00:00.000Z
std::string iso8601_utc(std::chrono::system_clock::time_point t);
// 2026-01-01 12:00:00.000 in local time (the text log's clock)
std::string local_timestamp(std::chrono::system_clock::time_point t);

}  // namespace llmgw
