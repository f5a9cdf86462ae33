#include <doctest/doctest.h>

#include <string>

#include "util/terminal_text.hpp"

using llmgw::safe_line;
using llmgw::without_controls;

namespace {
const std::string kReplacement = "\xEF\xBF\xBD";  // U+FFFD
}

TEST_SUITE("util.terminal_text") {
    TEST_CASE("a model's text keeps newlines and tabs, and loses C0, DEL and C1 controls") {
        CHECK(without_controls("a\tb\nc") == "a\tb\nc");
        CHECK(without_controls("a\rb") == "a" + kReplacement + "b");
        CHECK(without_controls("\x1b]52;c;x\x07") == kReplacement + "]52;c;x" + kReplacement);
        CHECK(without_controls("\xC2\x9B"
                               "2J \x7F") == kReplacement + "2J " + kReplacement);
        CHECK(without_controls("caf\xC3\xA9 \xE2\x9C\xA8") == "caf\xC3\xA9 \xE2\x9C\xA8");
    }

    TEST_CASE("a line for stderr loses every control, and every byte that is not UTF-8") {
        CHECK(safe_line("ok: caf\xC3\xA9 \xF0\x9F\x98\x80\t.") ==
              "ok: caf\xC3\xA9 \xF0\x9F\x98\x80\t.");
        CHECK(safe_line("a\r\nllmgw: forged") ==
              "a" + kReplacement + kReplacement + "llmgw: forged");
        // A bare 0x9B is CSI to a terminal that takes 8-bit controls; before, it passed.
        CHECK(safe_line("x\x9B"
                        "2Jy") == "x" + kReplacement + "2Jy");
        CHECK(safe_line("\xC2\x85") == kReplacement);                 // NEL, a C1 control
        CHECK(safe_line("\xC0\xAF") == kReplacement + kReplacement);  // overlong '/'
        CHECK(safe_line("\xED\xA0\x80") ==
              kReplacement + kReplacement + kReplacement);  // a surrogate
        CHECK(safe_line("\xF4\x90\x80\x80") ==
              kReplacement + kReplacement + kReplacement + kReplacement);        // past U+10FFFF
        CHECK(safe_line("end\xE2\x9C") == "end" + kReplacement + kReplacement);  // cut short
        CHECK(safe_line("\xE2\x80\xA8") == "\xE2\x80\xA8");  // U+2028 is no control to a terminal
    }
}
