// The retry rules of SPEC §4, checked without timing anything.
#include <doctest/doctest.h>

#include <chrono>
#include <set>

#include "upstream/classify.hpp"
#include "upstream/retry.hpp"

using namespace llmgw;
using namespace llmgw::upstream;

TEST_SUITE("upstream.retry") {
    TEST_CASE("backoff doubles from 100 ms, caps at 5000 ms, jitter within ±15 %, floor 100 ms") {
        const std::int64_t bases[] = {100, 200, 400, 800, 1600, 3200, 5000, 5000, 5000};
        for (int n = 1; n <= 9; ++n) {
            const double base = static_cast<double>(bases[n - 1]);
            CHECK(backoff_delay_ms(n, 0.5) == static_cast<std::int64_t>(base));
            const std::int64_t low = backoff_delay_ms(n, 0.0);
            const std::int64_t high = backoff_delay_ms(n, 0.999999);
            CHECK(low >= 100);
            CHECK(low == std::max<std::int64_t>(100, static_cast<std::int64_t>(base * 0.85)));
            CHECK(high <= static_cast<std::int64_t>(base * 1.15));
            CHECK(high >= static_cast<std::int64_t>(base * 1.15) - 1);
        }
        // The random variant stays inside the same bounds every time, and does vary.
        std::set<std::int64_t> seen[9];
        for (int i = 0; i < 2000; ++i) {
            const int n = 1 + i % 8;
            const std::int64_t d = backoff_delay_ms(n);
            const double base = n >= 7 ? 5000.0 : 100.0 * (1 << (n - 1));
            CHECK(d >= std::max<std::int64_t>(100, static_cast<std::int64_t>(base * 0.85)));
            CHECK(d <= static_cast<std::int64_t>(base * 1.15));
            seen[n].insert(d);
        }
        for (int n = 1; n <= 8; ++n) {
            CAPTURE(n);
            CHECK(seen[n].size() >= 5);  // 250 draws over at least 16 possible values
        }
    }

    TEST_CASE("Retry-After as seconds or an HTTP date") {
        const auto now = std::chrono::system_clock::from_time_t(784111777);  // 06 Nov 1994 08:49:37
        CHECK(parse_retry_after_ms("1", now) == 1000);
        CHECK(parse_retry_after_ms(" 30 ", now) == 30000);
        CHECK(parse_retry_after_ms("Sun, 06 Nov 1994 08:49:40 GMT", now) == 3000);
        CHECK(parse_retry_after_ms("Sun, 06 Nov 1994 08:49:00 GMT", now) == 0);  // in the past
        // The two obsolete forms a recipient must read too (RFC 9110 §5.6.7); before, taken
        // for no Retry-After at all (found by a review against SPEC §4).
        CHECK(parse_retry_after_ms("Sunday, 06-Nov-94 08:49:40 GMT", now) == 3000);
        CHECK(parse_retry_after_ms("Sun Nov  6 08:49:40 1994", now) == 3000);
        CHECK(parse_retry_after_ms("Sun Nov 6 08:49:40 1994", now) == 3000);
        CHECK_FALSE(
            parse_retry_after_ms("Sun, 06 Nov 1994 08:49:40 GMT trailing", now).has_value());
        CHECK_FALSE(parse_retry_after_ms("Sunday, 06-Nov-94 08:49:40", now).has_value());
        CHECK_FALSE(parse_retry_after_ms("", now).has_value());
        CHECK_FALSE(parse_retry_after_ms("-1", now).has_value());
        CHECK_FALSE(parse_retry_after_ms("soon", now).has_value());
        CHECK_FALSE(parse_retry_after_ms("1.5", now).has_value());
        // Dates the clock cannot hold in nanoseconds (past 2262, before 1678): no overflow
        // (UBSan), and as far off as such a number of seconds.
        CHECK(parse_retry_after_ms("Fri, 31 Dec 9999 23:59:59 GMT", now) == kRetryAfterFarMs);
        // Before: nullopt, as if absent, so a 503 saying so was retried after 100 ms.
        CHECK(parse_retry_after_ms("99999999999", now) == kRetryAfterFarMs);
        CHECK(parse_retry_after_ms("999999999999999999999999", now) == kRetryAfterFarMs);
        CHECK(parse_retry_after_ms("1000000000", now) == 1000000000000LL);
        CHECK(next_delay_ms(1, kRetryAfterFarMs, 10000) == 10000);
        CHECK_FALSE(is_retryable_status(429, kRetryAfterFarMs, 10000));
        CHECK(parse_retry_after_ms("Sat, 01 Jan 0000 00:00:00 GMT", now) == 0);
        CHECK(parse_retry_after_ms("Mon, 06 Nov 2023 08:49:37 GMT", now) == 915148800000LL);
    }

    TEST_CASE("retry-after-ms: milliseconds, a fraction rounded, nonsense refused") {
        CHECK(parse_retry_after_ms_field("1500") == 1500);
        CHECK(parse_retry_after_ms_field(" 0 ") == 0);
        CHECK(parse_retry_after_ms_field("250.4") == 250);
        CHECK(parse_retry_after_ms_field("250.5") == 251);
        CHECK(parse_retry_after_ms_field("1000000000000") == 1000000000000LL);
        CHECK(parse_retry_after_ms_field("1000000000001") == kRetryAfterFarMs);
        CHECK(parse_retry_after_ms_field("99999999999999999999999") == kRetryAfterFarMs);
        for (const char* bad : {"", "-5", "1e3", "15.", ".5", "1.2.3", "abc", "12 ms", "+3"}) {
            CAPTURE(bad);
            CHECK_FALSE(parse_retry_after_ms_field(bad).has_value());
        }
    }

    TEST_CASE("retry hints: retry-after-ms before Retry-After, x-should-retry: false refuses") {
        const auto now = std::chrono::system_clock::now();
        Headers h;
        h.add("Retry-After", "7");
        h.add("retry-after-ms", "300");
        RetryHints hints = retry_hints(h, now);
        CHECK(hints.retry_after_ms == 300);
        CHECK_FALSE(hints.refused);
        Headers unreadable_ms;
        unreadable_ms.add("retry-after-ms", "soon");
        unreadable_ms.add("Retry-After", "7");
        CHECK(retry_hints(unreadable_ms, now).retry_after_ms == 7000);
        CHECK_FALSE(retry_hints(Headers{}, now).retry_after_ms.has_value());
        for (const char* value : {"false", "FALSE", " false "}) {
            Headers no;
            no.add("x-should-retry", value);
            CHECK(retry_hints(no, now).refused);
        }
        for (const auto& [first, second] : {std::pair{"true", "false"}, std::pair{"false", "true"}}) {
            Headers both;
            both.add("x-should-retry", first);
            both.add("x-should-retry", second);
            CHECK(retry_hints(both, now).refused);
        }
        for (const char* value : {"true", "0", ""}) {
            Headers other;
            other.add("X-Should-Retry", value);
            CHECK_FALSE(retry_hints(other, now).refused);
        }
    }

    TEST_CASE("retryable statuses") {
        for (int s : {500, 502, 503, 504, 529}) CHECK(is_retryable_status(s, std::nullopt, 10000));
        for (int s : {200, 400, 401, 403, 404, 413, 422, 501}) {
            CHECK_FALSE(is_retryable_status(s, std::nullopt, 10000));
        }
        CHECK(is_retryable_status(429, 1000, 10000));
        CHECK(is_retryable_status(429, 10000, 10000));
        CHECK_FALSE(is_retryable_status(429, 10001, 10000));
        CHECK_FALSE(is_retryable_status(429, std::nullopt, 10000));
    }

    TEST_CASE("next delay: Retry-After honoured up to its cap, else backoff") {
        CHECK(next_delay_ms(1, 1000, 10000) == 1000);
        CHECK(next_delay_ms(1, 60000, 10000) == 10000);
        CHECK(next_delay_ms(1, 0, 10000) == 100);
        const std::int64_t d = next_delay_ms(2, std::nullopt, 10000);
        CHECK(d >= 170);
        CHECK(d <= 230);
    }

    TEST_CASE("libcurl codes map onto error types") {
        CHECK(classify(CURLE_OPERATION_TIMEDOUT) == ErrorType::timeout);
        CHECK(classify(CURLE_COULDNT_RESOLVE_HOST) == ErrorType::dns);
        CHECK(classify(CURLE_COULDNT_CONNECT) == ErrorType::connection);
        CHECK(classify(CURLE_PEER_FAILED_VERIFICATION) == ErrorType::ssl);
        CHECK(classify(CURLE_SSL_CONNECT_ERROR) == ErrorType::ssl);
        CHECK(classify(CURLE_RECV_ERROR) == ErrorType::network);
        CHECK(classify(CURLE_GOT_NOTHING) == ErrorType::network);
        CHECK(classify(CURLE_PARTIAL_FILE) == ErrorType::network);
        CHECK(classify(CURLE_WEIRD_SERVER_REPLY) == ErrorType::network);
        CHECK(classify(CURLE_OUT_OF_MEMORY) == ErrorType::unknown);
        CHECK(is_retryable(ErrorType::timeout));
        CHECK(is_retryable(ErrorType::dns));
        CHECK_FALSE(is_retryable(ErrorType::ssl));
        CHECK(is_fallback_trigger(ErrorType::connection));
        CHECK_FALSE(is_fallback_trigger(ErrorType::timeout));
        CHECK(http_status(ErrorType::connection) == 503);
        CHECK(http_status(ErrorType::overloaded) == 503);
        CHECK(http_status(ErrorType::size_limit) == 413);
    }
}
