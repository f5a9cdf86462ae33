#include <doctest/doctest.h>

#include <string>
#include <string_view>

#include "routing/router.hpp"

using llmgw::routing::JsonStreamFlag;
using llmgw::routing::peek_json_stream_flag;

namespace {

const char* name_of(JsonStreamFlag flag) {
    switch (flag) {
        case JsonStreamFlag::absent:
            return "absent";
        case JsonStreamFlag::is_true:
            return "is_true";
        case JsonStreamFlag::other:
            return "other";
        case JsonStreamFlag::invalid_json:
            return "invalid_json";
    }
    return "?";
}

std::string nested(int depth, std::string_view open, std::string_view inner,
                   std::string_view close) {
    std::string s;
    for (int i = 0; i < depth; ++i) s += open;
    s += inner;
    for (int i = 0; i < depth; ++i) s += close;
    return s;
}

}  // namespace

TEST_SUITE("routing.json_peek") {
    TEST_CASE("top-level stream flag") {
        using namespace std::string_view_literals;
        struct Case {
            std::string_view json;
            JsonStreamFlag expected;
        };
        const Case cases[] = {
            {R"({"stream":true})", JsonStreamFlag::is_true},
            {R"({"model":"gpt-4o","messages":[{"role":"user","content":"hi"}],"stream":true})",
             JsonStreamFlag::is_true},
            {" \t\r\n{ \"stream\" \n:\t true } \n", JsonStreamFlag::is_true},
            {R"({"stream":false})", JsonStreamFlag::other},
            {R"({"stream":"true"})", JsonStreamFlag::other},
            {R"({"stream":1})", JsonStreamFlag::other},
            {R"({"stream":null})", JsonStreamFlag::other},
            {R"({"stream":{}})", JsonStreamFlag::other},
            {R"({"stream":[true]})", JsonStreamFlag::other},
            {R"({"stream":{"stream":true}})", JsonStreamFlag::other},
            {R"({})", JsonStreamFlag::absent},
            {R"({"model":"x"})", JsonStreamFlag::absent},
            {R"({"options":{"stream":true}})", JsonStreamFlag::absent},
            {R"({"a":[{"stream":true}]})", JsonStreamFlag::absent},
            {R"({"a":["stream",true]})", JsonStreamFlag::absent},
            {R"({"x":"\"stream\":true"})", JsonStreamFlag::absent},
            {R"({"Stream":true})", JsonStreamFlag::absent},
            {R"({"stream ":true})", JsonStreamFlag::absent},
            {R"({"streams":true})", JsonStreamFlag::absent},
            {R"({"strea":true})", JsonStreamFlag::absent},
            {R"({"":true})", JsonStreamFlag::absent},
            // Keys are compared after unescaping.
            {R"({"str\u0065am":true})", JsonStreamFlag::is_true},
            {R"({"\u0073\u0074\u0072\u0065\u0061\u006D":true})", JsonStreamFlag::is_true},
            {R"({"stre\u0061m\u0000":true})", JsonStreamFlag::absent},
            {R"({"stream\n":true})", JsonStreamFlag::absent},
            {R"({"st\/ream":true})", JsonStreamFlag::absent},
            // Duplicate keys: the last wins, as in the parsers upstream APIs use.
            {R"({"stream":true,"stream":false})", JsonStreamFlag::other},
            {R"({"stream":false,"stream":true})", JsonStreamFlag::is_true},
            // Escapes in values and the rest of the grammar.
            {R"({"a":"\"\\\/\b\f\n\r\t\u00e9\uD83D\uDE00","stream":true})",
             JsonStreamFlag::is_true},
            {R"({"n":[0,-0,1.5,-1.5e10,2E+3,3e-2,10],"stream":true})", JsonStreamFlag::is_true},
            {R"({"a":[],"b":{},"c":[[],[{}]],"d":null,"e":false,"stream":true})",
             JsonStreamFlag::is_true},
            {"{\"caf\xc3\xa9\":1,\"stream\":true}", JsonStreamFlag::is_true},
        };
        for (const Case& c : cases) {
            CAPTURE(c.json);
            CHECK(name_of(peek_json_stream_flag(c.json)) == std::string_view(name_of(c.expected)));
        }
    }

    TEST_CASE("malformed JSON is invalid, even when stream is true") {
        using namespace std::string_view_literals;
        const std::string_view cases[] = {
            "",
            "   ",
            "[]",
            R"([{"stream":true}])",
            R"("stream")",
            "true",
            "null",
            "1",
            "{",
            R"({"stream":true)",
            R"({"stream":true,})",
            R"({"stream":true}})",
            R"({"stream":true} x)",
            R"({"stream":true}{})",
            R"({"stream":true,"a":[1,]})",
            R"({"a":[1,2})",
            R"({"a":{"b":1])",
            R"({"stream" true})",
            R"({"stream":})",
            R"({"stream"})",
            R"({"stream":true "a":1})",
            R"({,"stream":true})",
            R"({stream:true})",
            R"({'stream':true})",
            R"({"stream":tru})",
            R"({"stream":truex})",
            R"({"stream":True})",
            R"({"stream":nul})",
            R"({"stream":fals})",
            R"({"stream":true,"a":01})",
            R"({"stream":true,"a":1.})",
            R"({"stream":true,"a":.5})",
            R"({"stream":true,"a":1e})",
            R"({"stream":true,"a":-})",
            R"({"stream":true,"a":+1})",
            R"({"stream":true,"a":0x10})",
            R"({"stream":true,"a":NaN})",
            R"({"stream":true,"a":"unterminated})",
            R"({"stream":true,"a":"bad \x escape"})",
            R"({"stream":true,"a":"\u12"})",
            R"({"stream":true,"a":"\u12G4"})",
            R"({"str\u00":true})",
            R"({"stream":true,"a":"\)",
            "{\"stream\":true,\"a\":\"tab\there\"}",
            "{\"stream\":true,\"a\":\"nl\nhere\"}",
            "{\"stream\":true,\"a\":\"nul\0here\"}"sv,
            "{\"stream\":true}\0"sv,
            "\xef\xbb\xbf{\"stream\":true}",
            "{\"stream\":true}\f",
        };
        for (const std::string_view json : cases) {
            CAPTURE(json);
            CHECK(name_of(peek_json_stream_flag(json)) == std::string_view("invalid_json"));
        }
    }

    TEST_CASE("nesting is limited to 64 levels") {
        // 63 inner levels plus the top-level object: 64, accepted.
        const std::string ok = "{\"a\":" + nested(63, "[", "1", "]") + ",\"stream\":true}";
        CHECK(peek_json_stream_flag(ok) == JsonStreamFlag::is_true);
        const std::string ok_objects =
            "{\"stream\":true,\"a\":" + nested(63, "{\"b\":", "1", "}") + "}";
        CHECK(peek_json_stream_flag(ok_objects) == JsonStreamFlag::is_true);
        const std::string too_deep = "{\"a\":" + nested(64, "[", "1", "]") + ",\"stream\":true}";
        CHECK(peek_json_stream_flag(too_deep) == JsonStreamFlag::invalid_json);
        // Far deeper than any stack would allow with recursion; must neither crash nor loop.
        const std::string hostile = nested(1'000'000, "[", "", "]");
        CHECK(peek_json_stream_flag(hostile) == JsonStreamFlag::invalid_json);
        const std::string hostile_open = "{\"a\":" + std::string(1'000'000, '[');
        CHECK(peek_json_stream_flag(hostile_open) == JsonStreamFlag::invalid_json);
    }

    TEST_CASE("arrays and objects alternate correctly across depths") {
        // Closing brackets must match the container they close at every depth.
        CHECK(peek_json_stream_flag(R"({"a":[{"b":[{"c":[]}]}],"stream":true})") ==
              JsonStreamFlag::is_true);
        CHECK(peek_json_stream_flag(R"({"a":[{"b":[{"c":[}]}],"stream":true})") ==
              JsonStreamFlag::invalid_json);
        CHECK(peek_json_stream_flag(R"({"a":[{"b":[{"c":[]]}],"stream":true})") ==
              JsonStreamFlag::invalid_json);
    }

    TEST_CASE("large inputs") {
        const std::string spaces(8u << 20, ' ');
        CHECK(peek_json_stream_flag(spaces + "{\"stream\":true}" + spaces) ==
              JsonStreamFlag::is_true);
        CHECK(peek_json_stream_flag(spaces) == JsonStreamFlag::invalid_json);

        const std::string long_string =
            "{\"content\":\"" + std::string(4u << 20, 'x') + "\",\"stream\":true}";
        CHECK(peek_json_stream_flag(long_string) == JsonStreamFlag::is_true);

        std::string many_members = "{";
        for (int i = 0; i < 100000; ++i) many_members += "\"stream\":false,";
        many_members += "\"stream\":true}";
        CHECK(peek_json_stream_flag(many_members) == JsonStreamFlag::is_true);
    }

    TEST_CASE("every prefix of a valid document is invalid") {
        // Truncation anywhere must be caught without reading past the end (ASan checks the reads).
        const std::string_view json =
            R"({"model":"m","n":-1.5e+3,"a":[true,false,null,{"k":"v\u00e9\n"}],"stream":true})";
        REQUIRE(peek_json_stream_flag(json) == JsonStreamFlag::is_true);
        for (std::size_t n = 0; n < json.size(); ++n) {
            const std::string prefix(json.substr(0, n));  // own buffer: ASan sees overreads
            CAPTURE(prefix);
            CHECK(peek_json_stream_flag(prefix) == JsonStreamFlag::invalid_json);
        }
    }
}
