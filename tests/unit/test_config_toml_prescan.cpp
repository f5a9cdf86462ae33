// Non-ASCII text outside TOML strings and comments is refused before toml++ 3.3.0 sees it
// (it reaches __builtin_unreachable on some such code points; found by fuzz_config).
#include <doctest/doctest.h>

#include "config/config.hpp"
#include "config/toml_prescan.hpp"

using namespace llmgw::config;

TEST_SUITE("config.toml_prescan") {
    TEST_CASE("non-ASCII inside strings and comments is fine") {
        for (const char* text : {
                 "[services.x]\nheaders = { X-A = \"Caf\xc3\xa9 \xd0\xb6\" }\n",
                 "# caf\xc3\xa9\n[gateway] # \xd0\xb6\n",
                 "a = 'caf\xc3\xa9'\n",
                 "a = \"\"\"\ncaf\xc3\xa9\n\\\"\"\" \xd0\xb6\n\"\"\"\n",
                 "a = '''\ncaf\xc3\xa9 ''' \n",
                 "a = \"\"\"x\"\"\"\"\" # \xc3\xa9\n",        // two quotes before the delimiter
                 "a = \"esc \\\" still in \xc3\xa9\"\n",
                 "\"caf\xc3\xa9\" = 1\n",                     // a quoted key
             }) {
            CAPTURE(std::string(text));
            CHECK_FALSE(non_ascii_outside_strings(text));
        }
    }

    TEST_CASE("non-ASCII elsewhere is found, with its line and byte column") {
        auto at = non_ascii_outside_strings("[services.op\xc3\xa9nai]\n");
        REQUIRE(at);
        CHECK(at->line == 1);
        CHECK(at->column == 13);
        at = non_ascii_outside_strings("a = 1\nb = \"ok\" \xc3\xa9\n");
        REQUIRE(at);
        CHECK(at->line == 2);
        CHECK(at->column == 10);
        at = non_ascii_outside_strings("a = \"unterminated\n\xc3\xa9 = 1\n");  // the string ends at its line
        REQUIRE(at);
        CHECK(at->line == 2);
        at = non_ascii_outside_strings("a = \"\"\"x\"\"\" \xd0\xb6\n");
        REQUIRE(at);
        CHECK(at->column == 13);
    }

    TEST_CASE("the loader refuses it with FILE:LINE:COL") {
        LoadOptions options;
        options.builtin_toml = "[services.op\xc3\xa9nai]\nbase_url = \"http://a\"\n";
        options.env = [](std::string_view) -> std::optional<std::string> { return std::nullopt; };
        options.read_file = [](const std::string&) -> std::optional<std::string> { return std::nullopt; };
        const auto result = load_config(options);
        REQUIRE_FALSE(result);
        CHECK(result.error().message.find(":1:13: non-ASCII character outside a string or comment") !=
              std::string::npos);
    }
}
