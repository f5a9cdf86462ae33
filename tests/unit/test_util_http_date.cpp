// The Date field's text, and its per-thread copy made once a second.
#include <doctest/doctest.h>

#include <chrono>
#include <ctime>
#include <random>
#include <string>
#include <string_view>
#include <thread>

#include "util/held_clock.hpp"
#include "util/http_date.hpp"

using llmgw::format_http_date;
using llmgw::http_date_now;
using llmgw::kHttpDateSize;

namespace {

std::string formatted(std::int64_t unix_seconds) {
    std::string out(kHttpDateSize, '?');
    format_http_date(unix_seconds, out.data());
    return out;
}

std::string by_strftime(std::int64_t unix_seconds) {
    const auto t = static_cast<std::time_t>(unix_seconds);
    std::tm tm{};
    gmtime_r(&t, &tm);
    char text[64];
    const std::size_t n = std::strftime(text, sizeof text, "%a, %d %b %Y %H:%M:%S GMT", &tm);
    return std::string(text, n);
}

std::int64_t system_seconds() {
    return std::chrono::duration_cast<std::chrono::seconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

}  // namespace

TEST_SUITE("util.http_date") {
    TEST_CASE("IMF-fixdate, as RFC 9110 §5.6.7 writes it") {
        CHECK(formatted(784111777) == "Sun, 06 Nov 1994 08:49:37 GMT");
        CHECK(formatted(0) == "Thu, 01 Jan 1970 00:00:00 GMT");
        CHECK(formatted(951782400) == "Tue, 29 Feb 2000 00:00:00 GMT");
        CHECK(formatted(1767225599) == "Wed, 31 Dec 2025 23:59:59 GMT");
        CHECK(formatted(4102444800) == "Fri, 01 Jan 2100 00:00:00 GMT");
        CHECK(formatted(253402300799) == "Fri, 31 Dec 9999 23:59:59 GMT");
        std::mt19937_64 rng(20261130);
        for (int i = 0; i < 20000; ++i) {
            const auto t = static_cast<std::int64_t>(rng() % 253402300800ULL);
            CAPTURE(t);
            REQUIRE(formatted(t) == by_strftime(t));
        }
    }

    TEST_CASE("now: the system clock's second, kept per thread until the next one") {
        const std::string_view first = http_date_now();
        const std::int64_t now = system_seconds();
        REQUIRE(first.size() == kHttpDateSize);
        CHECK((first == formatted(now) || first == formatted(now - 1)));
        // The same copy, not formatted again, within the second.
        CHECK(http_date_now().data() == first.data());
        {
            const llmgw::HeldClock held;  // a handler's reading of the steady clock serves too
            const std::string held_date(http_date_now());
            const std::int64_t at = system_seconds();
            CHECK((held_date == formatted(at) || held_date == formatted(at - 1)));
        }
        // When the second changes, the text does (within about one second).
        const std::string before(http_date_now());
        const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(3);
        while (http_date_now() == before && std::chrono::steady_clock::now() < give_up) {
            std::this_thread::sleep_for(std::chrono::milliseconds(5));
        }
        const std::string after(http_date_now());
        CHECK(after != before);
        const std::int64_t later = system_seconds();
        CHECK((after == formatted(later) || after == formatted(later - 1)));
        // Each thread has its own copy, made on its first call.
        std::string other;
        std::thread([&other] { other = std::string(http_date_now()); }).join();
        CHECK(other.size() == kHttpDateSize);
        CHECK(other.substr(other.size() - 4) == " GMT");
    }
}
