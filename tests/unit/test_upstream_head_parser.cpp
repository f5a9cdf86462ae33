// HeadParser: the response head as libcurl hands it over, a line at a time.
#include <doctest/doctest.h>

#include <initializer_list>
#include <string>
#include <string_view>

#include "upstream/request.hpp"

using llmgw::upstream::HeadParser;
using Step = HeadParser::Step;

namespace {

// Feeds the lines (each with its CRLF); the step the last one gave.
Step feed_all(HeadParser& parser, std::initializer_list<std::string_view> lines) {
    Step step = Step::more;
    for (const std::string_view line : lines) {
        step = parser.feed(std::string(line) + "\r\n");
        if (step == Step::bad) return step;
    }
    return step;
}

}  // namespace

TEST_SUITE("upstream.head_parser") {
    TEST_CASE("the status line's reason phrase is kept as sent, none when none") {
        for (const auto& [line, reason] : {std::pair<std::string_view, std::string_view>{
                                               "HTTP/1.1 529 Overloaded", "Overloaded"},
                                           {"HTTP/1.1 200", ""},
                                           {"HTTP/1.1 200 ", ""},
                                           {"HTTP/1.1 404 Not  Found", "Not  Found"},
                                           {"HTTP/2 200 ", ""}}) {
            CAPTURE(line);
            HeadParser parser;
            REQUIRE(feed_all(parser, {line, ""}) == Step::complete);
            CHECK(parser.head().reason == reason);
        }
    }

    TEST_CASE("Content-Length fields that disagree frame no message; equal ones do") {
        // RFC 9112 §6.3: a proxy answers 502 (Beast refuses them too). Before: the last one
        // was announced to the client, whatever libcurl read.
        HeadParser parser;
        CHECK(feed_all(parser, {"HTTP/1.1 200 OK", "Content-Length: 5", "Content-Length: 10"}) ==
              Step::bad);
        parser.reset();
        CHECK(feed_all(parser, {"HTTP/1.1 200 OK", "Content-Length: x", "Content-Length: 10"}) ==
              Step::bad);
        parser.reset();
        REQUIRE(feed_all(parser, {"HTTP/1.1 200 OK", "Content-Length: 5", "content-length: 5",
                                  ""}) == Step::complete);
        CHECK(parser.head().content_length == 5u);
        // After a 100 Continue the final head's length alone counts.
        parser.reset();
        REQUIRE(feed_all(parser, {"HTTP/1.1 100 Continue", "Content-Length: 0", "",
                                  "HTTP/1.1 200 OK", "Content-Length: 7", ""}) == Step::complete);
        CHECK(parser.head().content_length == 7u);
    }

    TEST_CASE("a folded field line is joined to the field before it with one space") {
        // RFC 9112 §5.2, as Beast reads it. Before: the continuation was dropped as junk.
        HeadParser parser;
        REQUIRE(feed_all(parser, {"HTTP/1.1 200 OK", "X-Long: first", " second", "\t third",
                                  "X-Next: n", ""}) == Step::complete);
        const auto& headers = parser.head().headers;
        REQUIRE(headers.size() == 2);
        CHECK(headers[0].name == "X-Long");
        CHECK(headers[0].value == "first second third");
        CHECK(headers[1].value == "n");
        parser.reset();
        CHECK(feed_all(parser, {"HTTP/1.1 200 OK", " no field before"}) == Step::bad);
        parser.reset();
        CHECK(feed_all(parser, {"HTTP/1.1 200 OK", "Content-Length: 1", " 2"}) == Step::bad);
    }
}
