#include "upstream/retry.hpp"

#include <algorithm>
#include <ctime>
#include <random>
#include <string>

#include "util/strings.hpp"

namespace llmgw::upstream {

std::int64_t backoff_delay_ms(int retry_number, double unit) {
    const int exponent = std::clamp(retry_number - 1, 0, 30);
    const double base = std::min(100.0 * static_cast<double>(1LL << exponent), 5000.0);
    const double jitter = base * 0.15 * (2.0 * std::clamp(unit, 0.0, 1.0) - 1.0);
    return std::max<std::int64_t>(100, static_cast<std::int64_t>(base + jitter));
}

std::int64_t backoff_delay_ms(int retry_number) {
    thread_local std::mt19937 rng{std::random_device{}()};
    std::uniform_real_distribution<double> dist(0.0, 1.0);
    return backoff_delay_ms(retry_number, dist(rng));
}

std::optional<std::int64_t> parse_retry_after_ms(std::string_view value,
                                                 std::chrono::system_clock::time_point now) {
    value = str::trim(value);
    if (!value.empty() && value.find_first_not_of("0123456789") == std::string_view::npos) {
        const auto secs = str::parse_u64(value);  // none: more than 2^64 - 1
        if (!secs || *secs > 1000000000ULL) return kRetryAfterFarMs;
        return static_cast<std::int64_t>(*secs) * 1000;
    }
    // An HTTP date in the three forms a recipient must read (RFC 9110 §5.6.7): IMF-fixdate
    // "Sun, 06 Nov 1994 08:49:37 GMT", the obsolete RFC 850 "Sunday, 06-Nov-94 08:49:37 GMT"
    // (a two-digit year of 69 to 99 is 19xx, else 20xx) and asctime "Sun Nov  6 08:49:37 1994".
    const std::string text(value);
    std::tm tm{};
    bool parsed = false;
    for (const char* form :
         {"%a, %d %b %Y %H:%M:%S GMT", "%A, %d-%b-%y %H:%M:%S GMT", "%a %b %e %H:%M:%S %Y"}) {
        tm = std::tm{};
        const char* end = strptime(text.c_str(), form, &tm);
        if (end != nullptr && *end == '\0') {
            parsed = true;
            break;
        }
    }
    if (!parsed) return std::nullopt;
    const std::time_t at = timegm(&tm);
    // In seconds first: a date far off (years 0 to 9999 parse) would overflow the clock's
    // nanoseconds. Past 10^9 s it is as unusable as such a number of seconds (above).
    const std::int64_t seconds =
        static_cast<std::int64_t>(at) -
        static_cast<std::int64_t>(std::chrono::system_clock::to_time_t(now));
    if (seconds > 1000000000LL) return kRetryAfterFarMs;
    if (seconds < -1000000000LL) return 0;
    const auto delta = std::chrono::system_clock::from_time_t(at) - now;
    return std::max<std::int64_t>(
        0, std::chrono::duration_cast<std::chrono::milliseconds>(delta).count());
}

std::optional<std::int64_t> parse_retry_after_ms_field(std::string_view value) {
    value = str::trim(value);
    const std::string_view whole = value.substr(0, value.find('.'));
    const std::string_view fraction =
        whole.size() < value.size() ? value.substr(whole.size() + 1) : std::string_view();
    const auto digits = [](std::string_view s) {
        return s.find_first_not_of("0123456789") == std::string_view::npos;
    };
    if (whole.empty() || !digits(whole) || !digits(fraction)) return std::nullopt;
    if (whole.size() < value.size() && fraction.empty()) return std::nullopt;  // "15."
    const auto ms = str::parse_u64(whole);  // none: more than 2^64 - 1
    if (!ms || *ms > 1000000000000ULL) return kRetryAfterFarMs;
    return static_cast<std::int64_t>(*ms) + (!fraction.empty() && fraction.front() >= '5');
}

RetryHints retry_hints(const Headers& headers, std::chrono::system_clock::time_point now) {
    RetryHints hints;
    if (const auto ms = headers.get("retry-after-ms")) {
        hints.retry_after_ms = parse_retry_after_ms_field(*ms);
    }
    if (!hints.retry_after_ms) {
        if (const auto value = headers.get("retry-after")) {
            hints.retry_after_ms = parse_retry_after_ms(*value, now);
        }
    }
    // Any field that says false: an upstream that sent two (true and false) has not asked
    // for a retry, whatever their order.
    for (const HeaderField& field : headers) {
        if (str::iequals(field.name, "x-should-retry") && str::iequals(str::trim(field.value), "false")) {
            hints.refused = true;
        }
    }
    return hints;
}

bool is_retryable_status(int status, std::optional<std::int64_t> retry_after_ms,
                         std::int64_t max_retry_after_ms) {
    switch (status) {
        case 500:
        case 502:
        case 503:
        case 504:
        case 529:
            return true;
        case 429:
            return retry_after_ms.has_value() && *retry_after_ms <= max_retry_after_ms;
        default:
            return false;
    }
}

std::int64_t next_delay_ms(int retry_number, std::optional<std::int64_t> retry_after_ms,
                           std::int64_t max_retry_after_ms) {
    if (retry_after_ms) return std::max<std::int64_t>(100, std::min(*retry_after_ms, max_retry_after_ms));
    return backoff_delay_ms(retry_number);
}

}  // namespace llmgw::upstream
