// Non-ASCII text outside TOML strings and comments is refused before toml++ 3.3.0 sees it
// (it reaches __builtin_unreachable on some such code points; found by fuzz_config), and so
// is a key of more dotted parts than toml++ can walk by recursion.
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

    // "a.a.a…" of `parts` parts.
    std::string dotted(int parts) {
        std::string key = "a";
        for (int i = 1; i < parts; ++i) key += ".a";
        return key;
    }

    TEST_CASE("keys of up to 64 dotted parts pass; values' dots do not count") {
        for (const std::string& text :
             {dotted(64) + " = 1\n", "[" + dotted(64) + "]\nx = 1\n",
              "[[" + dotted(64) + "]]\n", "x = { " + dotted(64) + " = 1, b.c = 2 }\n",
              "\"" + dotted(100) + "\" = 1\n",  // one quoted part
              "x = [" + std::string(100, '1') + "]\n",
              // Empty inline tables close like others: the keys after them start afresh.
              "x = {}\ny = [{}]\nz = { a = {} }\nw = { }\n" + dotted(64) + " = 1\n[" +
                  dotted(64) + "]\n",
              [] {
                  std::string floats = "x = [\n";
                  for (int i = 0; i < 100; ++i) floats += "  1.5, 1979-05-27T07:32:00.999Z,\n";
                  return floats + "]\ny.z = { a.b = [1.5, 2.5] }\n# " + dotted(100) + "\n";
              }()}) {
            CAPTURE(text.substr(0, 80));
            CHECK_FALSE(key_with_too_many_parts(text));
        }
    }

    TEST_CASE("a key of 65 parts is found at the dot before its 65th part, wherever the key is") {
        const auto check = [](const std::string& text, std::size_t line, std::size_t column) {
            CAPTURE(text.substr(0, 80));
            const auto at = key_with_too_many_parts(text);
            REQUIRE(at);
            CHECK(at->line == line);
            CHECK(at->column == column);
        };
        check(dotted(65) + " = 1\n", 1, 128);  // the 64th dot
        check("x = 1\n[" + dotted(200000) + "]\n", 2, 129);
        check("x = { b = 1, " + dotted(65) + " = 2 }\n", 1, 141);
        check("x = [\n  1,\n]\n" + dotted(65) + " = 1\n", 4, 128);
        check("x = {}\ny = [{}]\n" + dotted(65) + " = 1\n", 3, 128);  // after empty tables
        check("x = [{ " + dotted(65) + " = 1 }]\n", 1, 135);
    }

    TEST_CASE("the loader refuses a key of too many parts with FILE:LINE:COL") {
        const std::string text = "[services." + dotted(200000) + "]\n";
        LoadOptions options;
        options.builtin_toml = text;  // a view: the text must outlive it
        options.env = [](std::string_view) -> std::optional<std::string> { return std::nullopt; };
        options.read_file = [](const std::string&) -> std::optional<std::string> { return std::nullopt; };
        const auto result = load_config(options);
        REQUIRE_FALSE(result);
        CHECK(result.error().message.find(":1:136: a key of more than 64 dotted parts") !=
              std::string::npos);
    }
}
