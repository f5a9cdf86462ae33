// The printf-free formatters of the request path: they must print what printf would.
#include <doctest/doctest.h>

#include <cstdio>
#include <string>

#include "util/ids.hpp"
#include "util/strings.hpp"

using namespace llmgw;

TEST_SUITE("util.format") {
    TEST_CASE("fixed2 prints two decimals like %.2f") {
        CHECK(str::fixed2(0) == "0.00");
        CHECK(str::fixed2(0.004) == "0.00");
        CHECK(str::fixed2(0.006) == "0.01");
        CHECK(str::fixed2(1.5) == "1.50");
        CHECK(str::fixed2(12.345678) == "12.35");
        CHECK(str::fixed2(99.999) == "100.00");
        CHECK(str::fixed2(-2.25) == "-2.25");
        CHECK(str::fixed2(123456789.0) == "123456789.00");
        CHECK(str::fixed2(1e20) == "100000000000000000000.00");
        for (int i = 0; i < 100000; i += 7) {  // agrees with printf away from exact halves
            const double v = i / 1000.0 + 0.0001;
            char buf[64];
            std::snprintf(buf, sizeof buf, "%.2f", v);
            CHECK(str::fixed2(v) == buf);
        }
    }

    TEST_CASE("append_decimal and append_hex") {
        std::string out = "x";
        str::append_decimal(out, 0);
        str::append_decimal(out, 18446744073709551615ULL);
        CHECK(out == "x018446744073709551615");
        out.clear();
        str::append_hex(out, 0);
        out += ' ';
        str::append_hex(out, 0x1f2e);
        CHECK(out == "0 1f2e");
    }

    TEST_CASE("request ids are version-4 UUIDs in lower-case 8-4-4-4-12 form") {
        for (int i = 0; i < 200; ++i) {
            const std::string id = new_uuid_v4();
            REQUIRE(id.size() == 36);
            for (std::size_t k = 0; k < id.size(); ++k) {
                const char c = id[k];
                if (k == 8 || k == 13 || k == 18 || k == 23) {
                    CHECK(c == '-');
                } else {
                    CHECK(((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')));
                }
            }
            CHECK(id[14] == '4');                                   // version
            CHECK(std::string("89ab").find(id[19]) != std::string::npos);  // variant
            CHECK(is_valid_request_id(id));
        }
        CHECK(new_uuid_v4() != new_uuid_v4());
    }
}

// The header checks of both serializers (eight bytes at a time, then the tail).
TEST_SUITE("util.header_checks") {
    TEST_CASE("is_safe_field_value finds CR, LF and NUL at every offset, and nothing else") {
        for (std::size_t length = 1; length <= 24; ++length) {
            for (std::size_t at = 0; at < length; ++at) {
                for (const char bad : {'\r', '\n', '\0'}) {
                    std::string value(length, 'a');
                    value[at] = bad;
                    CAPTURE(length);
                    CAPTURE(at);
                    CHECK_FALSE(str::is_safe_field_value(value));
                }
            }
        }
        std::string all_others;
        for (int c = 1; c < 256; ++c) {
            if (c != '\r' && c != '\n') all_others += static_cast<char>(c);
        }
        CHECK(str::is_safe_field_value(all_others));  // 0x8d and 0x8a too: only the exact bytes
        CHECK(str::is_safe_field_value(""));
        for (int c = 1; c < 256; ++c) {  // every other byte alone and in short tails
            if (c == '\r' || c == '\n') continue;
            for (std::size_t length = 1; length < 20; ++length) {
                CAPTURE(c);
                CAPTURE(length);
                CHECK(str::is_safe_field_value(std::string(length, static_cast<char>(c))));
            }
        }
        CHECK(str::is_safe_field_value("Bearer sk-0123456789abcdef"));
    }

    TEST_CASE("is_token: tchar only, at least one") {
        CHECK(str::is_token("Content-Type"));
        CHECK(str::is_token("!#$%&'*+-.^_`|~09azAZ"));
        CHECK_FALSE(str::is_token(""));
        for (const char bad : {' ', ':', '"', '(', ')', ',', '/', ';', '<', '=', '>', '?', '@', '[',
                               '\\', ']', '{', '}', '\x7f', '\x80', '\xff', '\0', '\t'}) {
            CHECK_FALSE(str::is_token(std::string("X-") + bad));
        }
    }
}
