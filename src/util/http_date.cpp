#include "util/http_date.hpp"

#include <chrono>

#include "util/held_clock.hpp"

namespace llmgw {
namespace {

char* put_two_digits(char* at, unsigned value) {
    *at++ = static_cast<char>('0' + value / 10 % 10);
    *at++ = static_cast<char>('0' + value % 10);
    return at;
}

char* put_text(char* at, std::string_view text) {
    for (const char c : text) *at++ = c;
    return at;
}

struct DateCache {
    SteadyTime next{};  // when the second after the formatted one begins, by the steady clock
    char text[kHttpDateSize] = {};
};
constinit thread_local DateCache cache;

void refresh_date() {
    using namespace std::chrono;
    const auto wall = system_clock::now();
    const auto second = floor<seconds>(wall);
    format_http_date(second.time_since_epoch().count(), cache.text);
    // The system clock may be set meanwhile: the next second is re-read from it either way.
    cache.next =
        steady_clock::now() + duration_cast<steady_clock::duration>(seconds(1) - (wall - second));
}

}  // namespace

void format_http_date(std::int64_t unix_seconds, char* out) {
    using namespace std::chrono;
    static constexpr std::string_view kDays = "SunMonTueWedThuFriSat";
    static constexpr std::string_view kMonths = "JanFebMarAprMayJunJulAugSepOctNovDec";
    const sys_seconds time{seconds{unix_seconds}};
    const sys_days day = floor<days>(time);
    const year_month_day date{day};
    const hh_mm_ss clock{time - day};
    const auto year = static_cast<unsigned>(static_cast<int>(date.year()));
    char* at = put_text(out, kDays.substr(weekday{day}.c_encoding() * 3, 3));
    at = put_text(at, ", ");
    at = put_two_digits(at, static_cast<unsigned>(date.day()));
    *at++ = ' ';
    at = put_text(at, kMonths.substr((static_cast<unsigned>(date.month()) - 1) * 3, 3));
    *at++ = ' ';
    at = put_two_digits(at, year / 100);
    at = put_two_digits(at, year);
    *at++ = ' ';
    at = put_two_digits(at, static_cast<unsigned>(clock.hours().count()));
    *at++ = ':';
    at = put_two_digits(at, static_cast<unsigned>(clock.minutes().count()));
    *at++ = ':';
    at = put_two_digits(at, static_cast<unsigned>(clock.seconds().count()));
    put_text(at, " GMT");
}

std::string_view http_date_now() {
    if (steady_now() >= cache.next) refresh_date();
    return {cache.text, kHttpDateSize};
}

}  // namespace llmgw
