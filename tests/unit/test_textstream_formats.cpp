#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "textstream/formats.hpp"

using llmgw::textstream::detect_format;
using llmgw::textstream::event_error;
using llmgw::textstream::event_text;
using llmgw::textstream::Format;
using llmgw::textstream::is_end_event;
using nlohmann::json;

TEST_SUITE("textstream.formats") {
    TEST_CASE("detection from one event or body") {
        CHECK(detect_format(json::parse(R"({"choices":[]})")) == Format::openai);
        // Azure's first chunk: no choices yet, only content filter results.
        CHECK(detect_format(json::parse(
                  R"({"choices":[],"object":"","prompt_filter_results":[]})")) == Format::openai);
        CHECK(detect_format(json::parse(R"({"type":"response.created","response":{}})")) ==
              Format::responses);
        CHECK(detect_format(json::parse(R"({"object":"response","output":[]})")) ==
              Format::responses);
        CHECK(detect_format(json::parse(R"({"type":"message_start","message":{}})")) ==
              Format::anthropic);
        CHECK(detect_format(json::parse(R"({"type":"message","content":[]})")) ==
              Format::anthropic);
        CHECK(detect_format(json::parse(R"({"candidates":[]})")) == Format::gemini);
        CHECK(detect_format(json::parse(R"({"promptFeedback":{"blockReason":"SAFETY"}})")) ==
              Format::gemini);
        CHECK(detect_format(json::parse(R"({"data":[{"id":"gpt-4o"}]})")) == Format::unknown);
        CHECK(detect_format(json::parse(R"({"type":"error","error":{}})")) == Format::unknown);
        CHECK(detect_format(json::parse(R"([1,2])")) == Format::unknown);
        // A JSON array of Gemini answers is read element by element (JsonArrayReader).
        CHECK(detect_format(json::parse(R"([{"candidates":[]}])")) == Format::unknown);
        CHECK(detect_format(json::parse(R"("text")")) == Format::unknown);
    }

    TEST_CASE("end events") {
        CHECK(is_end_event(Format::openai, "", "[DONE]", nullptr));
        CHECK_FALSE(is_end_event(Format::openai, "", "{}", nullptr));
        const json stop = json::parse(R"({"type":"message_stop"})");
        CHECK(is_end_event(Format::anthropic, "", "", &stop));
        CHECK(is_end_event(Format::anthropic, "message_stop", "{}", nullptr));
        const json done = json::parse(R"({"type":"response.completed"})");
        CHECK(is_end_event(Format::responses, "", "", &done));
        CHECK_FALSE(is_end_event(Format::gemini, "", "{}", nullptr));
        const json gemini_stop =
            json::parse(R"({"candidates":[{"content":{},"finishReason":"STOP","index":0}]})");
        CHECK(is_end_event(Format::gemini, "", "", &gemini_stop));
        const json other_stop =
            json::parse(R"({"candidates":[{"content":{},"finishReason":"STOP","index":1}]})");
        CHECK_FALSE(is_end_event(Format::gemini, "", "", &other_stop));
        const json gemini_more = json::parse(R"({"candidates":[{"content":{},"index":0}]})");
        CHECK_FALSE(is_end_event(Format::gemini, "", "", &gemini_more));
        const json blocked = json::parse(R"({"promptFeedback":{"blockReason":"OTHER"}})");
        CHECK(is_end_event(Format::gemini, "", "", &blocked));
    }

    TEST_CASE("refusals and the candidate of index 0") {
        CHECK(event_text(Format::openai, "",
                         json::parse(R"({"choices":[{"index":0,"delta":{"refusal":"No"}}]})")) ==
              "No");
        CHECK(event_text(Format::responses, "response.refusal.delta",
                         json::parse(R"({"delta":"no"})")) == "no");
        CHECK(llmgw::textstream::response_text(
                  Format::openai,
                  json::parse(
                      R"({"choices":[{"index":0,"message":{"content":null,"refusal":"No"}}]})")) ==
              "No");
        CHECK(
            event_text(
                Format::gemini, "",
                json::parse(
                    R"({"candidates":[{"content":{"parts":[{"text":"B"}]},"index":1},{"content":{"parts":[{"text":"A"}]},"index":0}]})")) ==
            "A");
        CHECK(event_text(
                  Format::gemini, "",
                  json::parse(R"({"candidates":[{"content":{"parts":[{"text":"B"}]},"index":1}]})"))
                  .empty());
    }

    TEST_CASE("a blocked prompt") {
        using llmgw::textstream::blocked_prompt;
        CHECK(blocked_prompt(json::parse(R"({"promptFeedback":{"blockReason":"SAFETY"}})")) ==
              "Gemini blocked the prompt: SAFETY");
        CHECK_FALSE(blocked_prompt(json::parse(R"({"promptFeedback":{"safetyRatings":[]}})")));
        CHECK_FALSE(blocked_prompt(
            json::parse(R"({"candidates":[{}],"promptFeedback":{"blockReason":"SAFETY"}})")));
    }

    TEST_CASE("text of events that carry none is empty") {
        CHECK(
            event_text(
                Format::anthropic, "",
                json::parse(
                    R"({"type":"content_block_delta","delta":{"type":"input_json_delta","partial_json":"{"}})"))
                .empty());
        CHECK(event_text(Format::openai, "",
                         json::parse(R"({"choices":[{"delta":{"content":null}}]})"))
                  .empty());
        CHECK(event_text(Format::responses, "",
                         json::parse(R"({"type":"response.output_text.done","text":"all"})"))
                  .empty());
        // The event name counts when the data has no type.
        CHECK(event_text(Format::responses, "response.output_text.delta",
                         json::parse(R"({"delta":"x"})")) == "x");
    }

    TEST_CASE("errors inside a stream") {
        CHECK(event_error("", json::parse(R"({"error":{"message":"boom"}})")) == "boom");
        CHECK(event_error("error", json::parse(R"({"type":"error","message":"m"})")) == "m");
        // Responses' error event: its message, not the whole JSON.
        CHECK(event_error(
                  "error",
                  json::parse(
                      R"({"type":"error","code":"server_error","message":"boom","param":null})")) ==
              "boom");
        CHECK(event_error("", json::parse(R"({"type":"error","message":"m"})")) == "m");
        CHECK(event_error(
                  "", json::parse(
                          R"({"type":"response.failed","response":{"error":{"message":"f"}}})")) ==
              "f");
        CHECK_FALSE(
            event_error("", json::parse(R"({"type":"response.created","response":{"error":null}})"))
                .has_value());
        CHECK_FALSE(event_error("", json::parse(R"({"choices":[]})")).has_value());
    }

    TEST_CASE("a lone surrogate escape is read as U+FFFD, a pair and other escapes as they are") {
        using llmgw::textstream::parse_json;
        using llmgw::textstream::with_lone_surrogates_replaced;
        CHECK(with_lone_surrogates_replaced(R"("a\ud83d b")") == R"("a\ufffd b")");
        CHECK(with_lone_surrogates_replaced(R"("\ude00\ud83d")") == R"("\ufffd\ufffd")");
        CHECK(with_lone_surrogates_replaced(R"("\uD83D\uDE00")") == R"("\uD83D\uDE00")");
        CHECK(with_lone_surrogates_replaced(R"("\\ud83d")") == R"("\\ud83d")");  // no escape
        CHECK(with_lone_surrogates_replaced(R"("\ud83d\n\u00e9")") == R"("\ufffd\n\u00e9")");
        CHECK(with_lone_surrogates_replaced(R"("\ud8")") == R"("\ud8")");  // cut: left as it is
        const json value = parse_json(R"({"choices":[{"delta":{"content":"lone \ud83d end"}}]})");
        REQUIRE(value.is_object());
        CHECK(event_text(Format::openai, "", value) == "lone \xEF\xBF\xBD end");
        CHECK(parse_json(R"({"a":"\ud83d)").is_discarded());  // still not JSON
    }

    TEST_CASE("bytes that are no UTF-8 in an event are read as U+FFFD, not as an event lost") {
        using llmgw::textstream::parse_json;
        // A Latin-1 é; a character cut before its last byte; a lone surrogate as well.
        const json latin1 = parse_json("{\"choices\":[{\"delta\":{\"content\":\"caf\xE9 \"}}]}");
        REQUIRE(latin1.is_object());
        CHECK(event_text(Format::openai, "", latin1) == "caf\xEF\xBF\xBD ");
        const json cut = parse_json("{\"response\":\"\xE2\x82 \\ud83d\",\"done\":false}");
        REQUIRE(cut.is_object());
        CHECK(cut["response"] == "\xEF\xBF\xBD \xEF\xBF\xBD");
        CHECK(parse_json("{\"a\":\"\xE9\"").is_discarded());  // still not JSON
    }
}
