#include <doctest/doctest.h>

#include <string>

#include "util/log.hpp"

using llmgw::format_log_line;
using llmgw::log_num;
using llmgw::log_str;
using llmgw::LogFormat;
using llmgw::LogLevel;

namespace {

// The part of a text line after " | ": its fields.
std::string text_fields(std::initializer_list<llmgw::LogField> fields) {
    const std::string line = format_log_line(LogFormat::text, LogLevel::info, "id", "m", fields);
    return line.substr(line.find(" | ") + 3);
}

}  // namespace

TEST_SUITE("util.log") {
    TEST_CASE("plain printable values stand as they are; others are quoted JSON strings") {
        CHECK(text_fields({log_str("path", "/gateway/openai/v1/models"), log_num("n", 3)}) ==
              "path=/gateway/openai/v1/models n=3");
        CHECK(text_fields({log_str("a", "x y"), log_str("b", "")}) == "a=\"x y\" b=\"\"");
        CHECK(text_fields({log_str("p", "/a\r\nfake=1")}) == "p=\"/a\\r\\nfake=1\"");
    }

    TEST_CASE("bytes above 0x7F are escaped: no C1 control or broken UTF-8 reaches the log") {
        // Before: unquoted and as they were, so U+009B (CSI) in a path reached a terminal
        // tailing the log.
        CHECK(text_fields({log_str("p",
                                   "/v1/\xC2\x9B"
                                   "2J")}) == "p=\"/v1/\\u009b2J\"");
        CHECK(text_fields({log_str("p", "/v1/caf\xC3\xA9")}) == "p=\"/v1/caf\\u00e9\"");
        CHECK(text_fields({log_str("p", "/v1/\xFF")}) == "p=\"/v1/\\ufffd\"");
        CHECK(text_fields({log_str("p", "/v1/\x7F")}) == "p=\"/v1/\\u007f\"");
        const std::string json = format_log_line(LogFormat::json, LogLevel::info, "id", "m",
                                                 {log_str("p", "/v1/\xC2\x9B\xE2\x80\xA8")});
        CHECK(json.find("\"p\":\"/v1/\\u009b\\u2028\"") != std::string::npos);
        for (const char c : json) CHECK(static_cast<unsigned char>(c) < 0x80);
    }
}
