#include <doctest/doctest.h>

#include <string_view>

#include "textstream/event_boundary.hpp"

using llmgw::textstream::EventBoundary;

TEST_SUITE("textstream.event_boundary") {
    TEST_CASE("between events: nothing relayed yet, or a blank line of any line ends") {
        for (const std::string_view ended : {"data: a\n\n", "data: a\r\n\r\n", "data: a\r\r",
                                             "data: a\r\n\n", "data: a\n\r\n", ": c\n\n"}) {
            CAPTURE(ended);
            EventBoundary b;
            b.relayed(ended);
            CHECK(b.between_events());
        }
        for (const std::string_view inside : {"data: a\n", "data: a", "data: a\r\n", "a\n\ra"}) {
            CAPTURE(inside);
            EventBoundary b;
            b.relayed(inside);
            CHECK_FALSE(b.between_events());
        }
        EventBoundary b;
        CHECK(b.between_events());
        // Split over pieces of one byte: the last four bytes decide.
        for (const char c : std::string_view("data: x\r\n\r\n")) b.relayed(std::string_view(&c, 1));
        CHECK(b.between_events());
    }

    TEST_CASE("through the last event end of the next bytes, with the line end before them") {
        EventBoundary b;
        CHECK(b.through_last_event_end("data: a\n\ndata: b\n\ndata: c") == 18);
        CHECK(b.through_last_event_end("data: a\ndata: b") == 0);
        b.relayed("data: a\n");
        CHECK(b.through_last_event_end("\ndata: b") == 1);  // the blank line spans the pieces
        b.relayed("\ndata: b\r");
        CHECK(b.through_last_event_end("\n\r\nrest") == 3);
    }
}
