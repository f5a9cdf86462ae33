// The word-at-a-time case folding against a byte-at-a-time reference.
#include <doctest/doctest.h>

#include <cstring>
#include <string>

#include "util/strings.hpp"

namespace {

bool reference_iequals(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
        if (llmgw::str::ascii_lower(a[i]) != llmgw::str::ascii_lower(b[i])) return false;
    }
    return true;
}

}  // namespace

TEST_SUITE("util.strings") {
    TEST_CASE("ascii_lower8 folds exactly 'A'-'Z' in every byte of a word, every byte value") {
        for (int c = 0; c < 256; ++c) {
            for (int at = 0; at < 8; ++at) {
                char bytes[8] = {'x', '-', 'Z', '0', 'a', '~', '@', '['};
                bytes[at] = static_cast<char>(c);
                std::uint64_t word;
                std::memcpy(&word, bytes, 8);
                const std::uint64_t folded = llmgw::str::ascii_lower8(word);
                char out[8];
                std::memcpy(out, &folded, 8);
                for (int i = 0; i < 8; ++i) {
                    CAPTURE(c);
                    CAPTURE(i);
                    REQUIRE(out[i] == llmgw::str::ascii_lower(bytes[i]));
                }
            }
        }
    }

    TEST_CASE("iequals agrees with a byte-by-byte fold for one differing byte anywhere") {
        for (const std::string base :
             {"content-length", "X-Request-Id", "Transfer-Encoding", "accept", "ab", "",
              "0123456789abcdef", "proxy-authorization!"}) {
            for (std::size_t at = 0; at < base.size(); ++at) {
                for (int c = 0; c < 256; ++c) {
                    std::string other = base;
                    other[at] = static_cast<char>(c);
                    CAPTURE(base);
                    CAPTURE(at);
                    CAPTURE(c);
                    REQUIRE(llmgw::str::iequals(base, other) == reference_iequals(base, other));
                    REQUIRE(llmgw::str::iequals(other, base) == reference_iequals(other, base));
                }
            }
            CHECK(llmgw::str::iequals(base, llmgw::str::to_upper(base)));
            CHECK_FALSE(llmgw::str::iequals(base, base + "x"));
        }
    }

    TEST_CASE("method_as_meant upper-cases the standard methods only") {
        using llmgw::str::method_as_meant;
        CHECK(method_as_meant("get") == "GET");
        CHECK(method_as_meant("Patch") == "PATCH");
        CHECK(method_as_meant("OPTIONS") == "OPTIONS");
        CHECK(method_as_meant("purge") == "purge");
        CHECK(method_as_meant("MkCol") == "MkCol");
        CHECK(method_as_meant("gets") == "gets");
    }

    TEST_CASE("with_invalid_utf8_replaced puts one U+FFFD for each maximal ill-formed part") {
        using llmgw::str::utf8_sequence;
        using llmgw::str::with_invalid_utf8_replaced;
        const std::string r = "\xEF\xBF\xBD";
        CHECK(with_invalid_utf8_replaced("plain \xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80") ==
              "plain \xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80");
        CHECK(with_invalid_utf8_replaced("caf\xE9!") == "caf" + r + "!");  // Latin-1
        CHECK(with_invalid_utf8_replaced("\xE2\x82!") == r + "!");         // cut: one for both
        CHECK(with_invalid_utf8_replaced("\xF0\x9F\x98") == r);            // cut at the end
        CHECK(with_invalid_utf8_replaced("\xC0\xAF") == r + r);            // overlong: no lead
        CHECK(with_invalid_utf8_replaced("\xED\xA0\x80") == r + r + r);    // a surrogate
        CHECK(with_invalid_utf8_replaced("\xF4\x90\x80\x80") == r + r + r + r);  // past U+10FFFF
        CHECK(with_invalid_utf8_replaced("\x80\xFF") == r + r);
        CHECK(utf8_sequence("a") == 1);
        CHECK(utf8_sequence("\xF0\x9F\x98\x80") == 4);
        CHECK(utf8_sequence("\xF0\x9F\x98") == 0);
        CHECK(utf8_sequence("") == 0);
    }
}
