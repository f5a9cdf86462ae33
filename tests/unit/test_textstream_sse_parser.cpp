#include <doctest/doctest.h>

#include <string>
#include <string_view>
#include <vector>

#include "textstream/sse_parser.hpp"

using llmgw::textstream::SseEvent;
using llmgw::textstream::SseParser;

namespace {

std::vector<SseEvent> parse_all(std::string_view stream, std::size_t max_event = 1 << 20) {
    SseParser parser(max_event);
    std::vector<SseEvent> events;
    REQUIRE(parser.feed(stream, events));
    parser.finish(events);
    return events;
}

// Feeds the stream in two pieces split at `at`.
std::vector<SseEvent> parse_split(std::string_view stream, std::size_t at) {
    SseParser parser;
    std::vector<SseEvent> events;
    REQUIRE(parser.feed(stream.substr(0, at), events));
    REQUIRE(parser.feed(stream.substr(at), events));
    parser.finish(events);
    return events;
}

bool same(const std::vector<SseEvent>& a, const std::vector<SseEvent>& b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
        if (a[i].type != b[i].type || a[i].data != b[i].data || a[i].id != b[i].id) return false;
    }
    return true;
}

const std::string kMixed =
    "\xEF\xBB\xBF: comment line\r\n"
    "retry: 1000\r\n"
    "event: message_start\r\n"
    "data: {\"a\":1}\r\n"
    "\r\n"
    "data:first\n"
    "data: second\n"
    "data\n"
    "id: 7\n"
    "\n"
    ": keep-alive\r"
    "event: only-type\r"
    "\r"
    "data: cr only\r\r"
    "data: [DONE]\n\n";

}  // namespace

TEST_SUITE("textstream.sse_parser") {
    TEST_CASE("fields, multi-line data, comments and the three line endings") {
        const auto events = parse_all(kMixed);
        REQUIRE(events.size() == 4);
        CHECK(events[0].type == "message_start");
        CHECK(events[0].data == "{\"a\":1}");
        CHECK(events[1].type.empty());
        CHECK(events[1].data == "first\nsecond\n");
        CHECK(events[1].id == "7");
        // "event: only-type" without data dispatches nothing, and its type is forgotten.
        CHECK(events[2].type.empty());
        CHECK(events[2].data == "cr only");
        CHECK(events[3].data == "[DONE]");
    }

    TEST_CASE("the same events whatever byte the stream is split at") {
        const auto whole = parse_all(kMixed);
        for (std::size_t at = 0; at <= kMixed.size(); ++at) {
            CAPTURE(at);
            CHECK(same(parse_split(kMixed, at), whole));
        }
    }

    TEST_CASE("one byte at a time") {
        SseParser parser;
        std::vector<SseEvent> events;
        for (const char c : kMixed) REQUIRE(parser.feed(std::string_view(&c, 1), events));
        parser.finish(events);
        CHECK(same(events, parse_all(kMixed)));
    }

    TEST_CASE("a CRLF split between chunks is one line ending, not two") {
        SseParser parser;
        std::vector<SseEvent> events;
        REQUIRE(parser.feed("data: a\r", events));
        REQUIRE(parser.feed("\ndata: b\r\n\r\n", events));
        REQUIRE(events.size() == 1);
        CHECK(events[0].data == "a\nb");
    }

    TEST_CASE("an empty data field still makes an event; a space after the colon is dropped once") {
        const auto events = parse_all("data:\n\ndata:  two spaces\n\n");
        REQUIRE(events.size() == 2);
        CHECK(events[0].data.empty());
        CHECK(events[1].data == " two spaces");
    }

    TEST_CASE("the last event is delivered at the end even without its blank line") {
        const auto events = parse_all("data: 1\n\ndata: [DONE]");
        REQUIRE(events.size() == 2);
        CHECK(events[1].data == "[DONE]");
    }

    TEST_CASE("an event is not delivered before its blank line arrives") {
        SseParser parser;
        std::vector<SseEvent> events;
        REQUIRE(parser.feed("data: partial\n", events));
        CHECK(events.empty());
        REQUIRE(parser.feed("\n", events));
        CHECK(events.size() == 1);
    }

    TEST_CASE("a line over the bound makes an over-long event; the events after it are read") {
        SseParser parser(32);
        std::vector<SseEvent> events;
        REQUIRE(parser.feed("data: ok\n\nevent: long\nid: 7\ndata: 0123", events));
        CHECK(events.size() == 1);
        CHECK_FALSE(parser.feed("456789abcdef\nevent: lost\ndata: more\n\ndata: next\n\n", events));
        CHECK(parser.overflowed());
        CHECK(parser.take_unparsed() ==
              "event: long\nid: 7\ndata: 0123456789abcdef\nevent: lost\ndata: more\n\n"
              "data: next\n\n");
        REQUIRE(parser.feed("data: x\n\n", events));
        parser.finish(events);
        REQUIRE(events.size() == 4);
        // Its type and id as the lines before the bound gave them; no data.
        CHECK(events[1].overlong);
        CHECK(events[1].type == "long");
        CHECK(events[1].id == "7");
        CHECK(events[1].data.empty());
        CHECK(events[2].data == "next");
        CHECK_FALSE(events[2].overlong);
        CHECK(events[3].data == "x");
    }

    TEST_CASE("an over-long event ends at its blank line, however it is cut") {
        const std::string stream =
            "data: a\r\n\r\ndata: 0123456789abcdef\r\ndata: more\r\n\r\ndata: b\r\n\r\n";
        for (std::size_t at = 1; at < stream.size(); ++at) {
            CAPTURE(at);
            SseParser parser(16);
            std::vector<SseEvent> events;
            parser.feed(stream.substr(0, at), events);
            parser.feed(stream.substr(at), events);
            parser.finish(events);
            REQUIRE(events.size() == 3);
            CHECK(events[1].overlong);
            CHECK(events[2].data == "b");
        }
    }

    TEST_CASE("the unparsed bytes start at the first byte of the event that passed the bound") {
        // Its earlier lines and their line ends as they came, a CRLF split between chunks
        // too; the event before it and the keep-alive that ended with a blank line are gone.
        SseParser parser(30);
        std::vector<SseEvent> events;
        REQUIRE(parser.feed("data: a\n\n: ping\r", events));
        REQUIRE(parser.feed("\n\r\nevent: delta\r", events));
        REQUIRE(parser.feed("\ndata: b\r\nda", events));
        CHECK(events.size() == 1);
        CHECK_FALSE(parser.feed("ta: 0123456789\n\n", events));
        CHECK(parser.take_unparsed() == "event: delta\r\ndata: b\r\ndata: 0123456789\n\n");
    }

    TEST_CASE("an event of many short lines is bounded as a whole") {
        SseParser parser(32);
        std::vector<SseEvent> events;
        std::string stream;
        for (int i = 0; i < 8; ++i) stream += "data: 0123\n";  // 11 bytes a line
        CHECK_FALSE(parser.feed(stream, events));
        CHECK(parser.overflowed());
        REQUIRE(events.size() == 1);
        CHECK(events[0].overlong);
        CHECK(parser.take_unparsed() == stream);
    }

    TEST_CASE("a line exactly at the bound is fine") {
        const auto events = parse_all("data: 0123456789\n\n", 16);
        REQUIRE(events.size() == 1);
        CHECK(events[0].data == "0123456789");
    }
}
