#include <doctest/doctest.h>

#include <cstring>
#include <memory>
#include <string>
#include <string_view>

#include "fuzz/exact_buffer.hpp"
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

JsonStreamFlag peek_exact(std::string_view body) {
    return peek_json_stream_flag(llmgw::test::ExactBuffer(body).view());
}

void check_peek(const std::string& body, JsonStreamFlag expected) {
    CAPTURE(body);
    CHECK(name_of(peek_exact(body)) == std::string_view(name_of(expected)));
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
            // A UTF-8 byte order mark first, once, as a UTF-8 decoder skips it; not elsewhere.
            {"\xEF\xBB\xBF{\"stream\":true}", JsonStreamFlag::is_true},
            {"\xEF\xBB\xBF \n{\"stream\":true}", JsonStreamFlag::is_true},
            {"\xEF\xBB\xBF\xEF\xBB\xBF{\"stream\":true}", JsonStreamFlag::invalid_json},
            {" \xEF\xBB\xBF{\"stream\":true}", JsonStreamFlag::invalid_json},
            {"\xEF\xBB{\"stream\":true}", JsonStreamFlag::invalid_json},
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
            "{\"stream\":true}\f",
        };
        for (const std::string_view json : cases) {
            CAPTURE(json);
            CHECK(name_of(peek_json_stream_flag(json)) == std::string_view("invalid_json"));
        }
    }

    TEST_CASE("nesting is limited to 1,024 levels") {
        // 1,023 inner levels plus the top-level object: 1,024, accepted. Before, 64 was the
        // limit: a valid body nested 65 deep hid its "stream": true.
        const std::string ok = "{\"a\":" + nested(1023, "[", "1", "]") + ",\"stream\":true}";
        CHECK(peek_json_stream_flag(ok) == JsonStreamFlag::is_true);
        const std::string ok_objects =
            "{\"stream\":true,\"a\":" + nested(1023, "{\"b\":", "1", "}") + "}";
        CHECK(peek_json_stream_flag(ok_objects) == JsonStreamFlag::is_true);
        // Arrays and objects alternating across the 64-bit words of the stack.
        const std::string mixed =
            "{\"a\":" + nested(511, "[{\"b\":", "1", "}]") + ",\"stream\":true}";
        CHECK(peek_json_stream_flag(mixed) == JsonStreamFlag::is_true);
        std::string mismatched = "{\"a\":";  // an object at depth 80 closed by ']'
        for (int i = 0; i < 40; ++i) mismatched += "[{\"b\":";
        mismatched += "1]";
        CHECK(peek_json_stream_flag(mismatched) == JsonStreamFlag::invalid_json);
        const std::string too_deep = "{\"a\":" + nested(1024, "[", "1", "]") + ",\"stream\":true}";
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
            const std::string_view prefix = json.substr(0, n);
            CAPTURE(prefix);
            CHECK(peek_exact(prefix) == JsonStreamFlag::invalid_json);
        }
    }

    // The plain run of a string is scanned eight bytes at a time; these put each kind of stop
    // at every offset of the first two words, so a wrong mask, shift or tail shows up.
    TEST_CASE("each string stop is found at every offset") {
        const std::string tail = ",\"stream\":true}";
        for (std::size_t offset = 0; offset <= 16; ++offset) {
            CAPTURE(offset);
            const std::string run(offset, 'a');
            // The closing quote, in a value and in a key, and the first of several stops.
            check_peek("{\"k\":\"" + run + "\"" + tail, JsonStreamFlag::is_true);
            check_peek("{\"" + run + "\":1" + tail, JsonStreamFlag::is_true);
            check_peek("{\"k\":\"" + run + "\"#\"" + tail, JsonStreamFlag::invalid_json);
            // A backslash: a valid escape continues the string, a bad one is invalid.
            check_peek("{\"k\":\"" + run + "\\n" + run + "\"" + tail, JsonStreamFlag::is_true);
            check_peek("{\"k\":\"" + run + "\\\"" + run + "\"" + tail, JsonStreamFlag::is_true);
            check_peek("{\"k\":\"" + run + "\\]\"" + tail, JsonStreamFlag::invalid_json);
            // Raw control characters, including NUL and the highest, 0x1f; also when a quote
            // follows in the same word (the first stop decides, not a later one).
            for (const char control : {'\x00', '\x01', '\n', '\x1f'}) {
                const std::string body = "{\"k\":\"" + run + control;
                check_peek(body + "\"" + tail, JsonStreamFlag::invalid_json);
                check_peek(body + " \"" + tail, JsonStreamFlag::invalid_json);
                check_peek("{\"" + run + control + "\":1" + tail, JsonStreamFlag::invalid_json);
            }
            // The neighbours of the stops are plain, and so are DEL and bytes >= 0x80, even
            // those whose low seven bits are a stop (0xa2 is '"' | 0x80, 0xdc is '\\' | 0x80,
            // 0x80..0x9f are controls | 0x80).
            for (const char plain : {' ', '!', '#', '[', ']', '\x7f', '\x80', '\x9f', '\xa0',
                                     '\xa2', '\xdc', '\xff'}) {
                const std::string filler(offset, plain);
                check_peek("{\"k\":\"" + filler + "\"" + tail, JsonStreamFlag::is_true);
                check_peek("{\"" + filler + "\":1" + tail, JsonStreamFlag::is_true);
                check_peek("{\"k\":\"" + run + plain + "\\t" + plain + "\"" + tail,
                           JsonStreamFlag::is_true);
                check_peek("{\"k\":\"" + run + plain + "\x1f" + plain + "\"" + tail,
                           JsonStreamFlag::invalid_json);
                check_peek("{\"k\":\"" + filler + "\\" + plain + "\"" + tail,
                           JsonStreamFlag::invalid_json);
            }
        }
    }

    TEST_CASE("strings that reach the end of the buffer are unterminated") {
        for (std::size_t offset = 0; offset <= 16; ++offset) {
            CAPTURE(offset);
            for (const char plain : {'a', '\x7f', '\x80', '\xff'}) {
                const std::string run(offset, plain);
                check_peek("{\"k\":\"" + run, JsonStreamFlag::invalid_json);
                check_peek("{\"" + run, JsonStreamFlag::invalid_json);
                check_peek("{\"k\":\"" + run + "\\", JsonStreamFlag::invalid_json);
                check_peek("{\"k\":\"" + run + "\\u00", JsonStreamFlag::invalid_json);
                check_peek("{\"k\":\"" + run + "\\n" + run, JsonStreamFlag::invalid_json);
                // Closed on the very last byte: the string is fine, the object is not.
                check_peek("{\"k\":\"" + run + "\"", JsonStreamFlag::invalid_json);
                check_peek("{\"stream\":true,\"k\":\"" + run + "\"}", JsonStreamFlag::is_true);
            }
        }
    }

    TEST_CASE("the stream key at every alignment and split by escapes") {
        for (std::size_t pad = 0; pad <= 16; ++pad) {
            CAPTURE(pad);
            const std::string spaces(pad, ' ');
            const std::string before = "{\"" + std::string(pad, 'k') + "\":0,";
            check_peek(spaces + "{" + spaces + "\"stream\"" + spaces + ":true}",
                       JsonStreamFlag::is_true);
            check_peek(before + "\"stream\":true}", JsonStreamFlag::is_true);
            check_peek(before + "\"stream\":false}", JsonStreamFlag::other);
            // "stream" inside a longer key or value, across the first word boundary or not.
            const std::string extra(pad + 1, 'x');
            check_peek(before + "\"" + extra + "stream\":true}", JsonStreamFlag::absent);
            check_peek(before + "\"stream" + extra + "\":true}", JsonStreamFlag::absent);
            check_peek(before + "\"k\":\"" + extra + "stream\"}", JsonStreamFlag::absent);
        }
        const std::string key = "stream";
        for (std::size_t at = 0; at < key.size(); ++at) {
            CAPTURE(at);
            // One character escaped splits the key into plain runs on either side.
            static constexpr char kHex[] = "0123456789abcdef";
            const auto c = static_cast<unsigned char>(key[at]);
            const std::string escaped =
                key.substr(0, at) + "\\u00" + kHex[c >> 4] + kHex[c & 15] + key.substr(at + 1);
            check_peek("{\"" + escaped + "\":true}", JsonStreamFlag::is_true);
            check_peek("{\"" + escaped + "\\n\":true}", JsonStreamFlag::absent);
            check_peek("{\"\\n" + escaped + "\":true}", JsonStreamFlag::absent);
            check_peek("{\"" + key.substr(0, at) + "\\u0000" + key.substr(at) + "\":true}",
                       JsonStreamFlag::absent);
            // Six bytes that differ from "stream" in one place, also by the high bit only.
            std::string near = key;
            near[at] = static_cast<char>(c ^ 0x80);
            check_peek("{\"" + near + "\":true}", JsonStreamFlag::absent);
            near[at] = static_cast<char>(c ^ 0x20);
            check_peek("{\"" + near + "\":true}", JsonStreamFlag::absent);
        }
    }
}
