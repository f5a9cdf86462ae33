#include "util/ids.hpp"

#include <cstdio>
#include <ctime>
#include <random>

namespace llmgw {

std::string new_uuid_v4() {
    // One generator per thread: no lock on the request path.
    thread_local std::mt19937_64 rng{std::random_device{}()};
    const std::uint64_t hi = (rng() & 0xFFFFFFFFFFFF0FFFULL) | 0x0000000000004000ULL;
    const std::uint64_t lo = (rng() & 0x3FFFFFFFFFFFFFFFULL) | 0x8000000000000000ULL;
    // 8-4-4-4-12 hex digits of hi:lo, without printf.
    static constexpr char kHex[] = "0123456789abcdef";
    std::string out(36, '-');
    std::size_t pos = 0;
    const auto put = [&](std::uint64_t bits, int digits) {
        for (int i = digits - 1; i >= 0; --i) out[pos++] = kHex[(bits >> (4 * i)) & 0xF];
    };
    put(hi >> 32, 8);
    ++pos;
    put(hi >> 16, 4);
    ++pos;
    put(hi, 4);
    ++pos;
    put(lo >> 48, 4);
    ++pos;
    put(lo, 12);
    return out;
}

bool is_valid_request_id(std::string_view id) {
    if (id.empty() || id.size() > 128) return false;
    for (char c : id) {
        const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                        c == '.' || c == '_' || c == ':' || c == '-';
        if (!ok) return false;
    }
    return true;
}

namespace {

// "YYYY-MM-DD<sep>HH:MM:SS.mmm<suffix>", in UTC or local time.
std::string format_time(std::chrono::system_clock::time_point t, bool utc, char sep,
                        const char* suffix) {
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch());
    const std::time_t secs = static_cast<std::time_t>(ms.count() / 1000);
    std::tm tm{};
    if (utc) {
        gmtime_r(&secs, &tm);
    } else {
        localtime_r(&secs, &tm);
    }
    char buf[96];
    std::snprintf(buf, sizeof buf, "%04d-%02d-%02d%c%02d:%02d:%02d.%03d%s", tm.tm_year + 1900,
                  tm.tm_mon + 1, tm.tm_mday, sep, tm.tm_hour, tm.tm_min, tm.tm_sec,
                  static_cast<int>(ms.count() % 1000), suffix);
    return buf;
}

}  // namespace

std::string iso8601_utc(std::chrono::system_clock::time_point t) {
    return format_time(t, true, 'T', "Z");
}

std::string local_timestamp(std::chrono::system_clock::time_point t) {
    return format_time(t, false, ' ', "");
}

}  // namespace llmgw
