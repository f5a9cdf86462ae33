#include <doctest/doctest.h>

#include <string>
#include <string_view>

#include "text_stream_run.hpp"
#include "textstream/text_stream.hpp"

using llmgw::textstream::Format;
using llmgw::textstream::TextStream;

namespace {

using Run = llmgw::test::TextStreamRun;

Run run(std::string_view body, TextStream::Mode mode, bool event_stream, std::size_t piece = 0,
        std::size_t max_event = 1 << 20) {
    return llmgw::test::run_text_stream(body, mode, event_stream, piece, max_event);
}

Run text_sse(std::string_view body, std::size_t piece = 0) {
    return run(body, TextStream::Mode::text, true, piece);
}
Run text_json(std::string_view body) { return run(body, TextStream::Mode::text, false); }
Run raw_sse(std::string_view body) { return run(body, TextStream::Mode::raw, true); }

const std::string kOpenAiChat =
    "data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,"
    "\"delta\":{\"role\":\"assistant\",\"content\":\"\"},\"finish_reason\":null}]}\n\n"
    "data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,"
    "\"delta\":{\"content\":\"Hello\"},\"finish_reason\":null}]}\n\n"
    "data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,"
    "\"delta\":{\"content\":\", w\\u00f6rld\"},\"finish_reason\":null}]}\n\n"
    "data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,"
    "\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n"
    "data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"choices\":[],\"usage\":"
    "{\"total_tokens\":9}}\n\n"
    "data: [DONE]\n\n";

const std::string kCompletions =
    "data: "
    "{\"id\":\"x\",\"object\":\"text_completion\",\"choices\":[{\"text\":\"Once\",\"index\":0}]}"
    "\n\n"
    "data: {\"id\":\"x\",\"object\":\"text_completion\",\"choices\":[{\"text\":\" "
    "upon\",\"index\":0}]}\n\n"
    "data: [DONE]\n\n";

const std::string kResponses =
    "event: response.created\n"
    "data: {\"type\":\"response.created\",\"response\":{\"id\":\"r1\",\"object\":\"response\","
    "\"status\":\"in_progress\",\"error\":null,\"output\":[]}}\n\n"
    "event: response.output_item.added\n"
    "data: "
    "{\"type\":\"response.output_item.added\",\"output_index\":0,\"item\":{\"type\":\"message\"}}"
    "\n\n"
    "event: response.output_text.delta\n"
    "data: {\"type\":\"response.output_text.delta\",\"output_index\":0,\"content_index\":0,"
    "\"delta\":\"Hi\"}\n\n"
    "event: response.output_text.delta\n"
    "data: {\"type\":\"response.output_text.delta\",\"output_index\":0,\"content_index\":0,"
    "\"delta\":\" there\"}\n\n"
    "event: response.output_text.done\n"
    "data: {\"type\":\"response.output_text.done\",\"text\":\"Hi there\"}\n\n"
    "event: response.completed\n"
    "data: "
    "{\"type\":\"response.completed\",\"response\":{\"id\":\"r1\",\"status\":\"completed\"}}\n\n";

const std::string kAnthropic =
    "event: message_start\n"
    "data: {\"type\":\"message_start\",\"message\":{\"id\":\"m1\",\"type\":\"message\","
    "\"role\":\"assistant\",\"content\":[]}}\n\n"
    "event: content_block_start\n"
    "data: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\","
    "\"text\":\"\"}}\n\n"
    "event: ping\n"
    "data: {\"type\": \"ping\"}\n\n"
    "event: content_block_delta\n"
    "data: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\","
    "\"text\":\"Bonjour\"}}\n\n"
    "event: content_block_delta\n"
    "data: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\","
    "\"text\":\" !\"}}\n\n"
    "event: content_block_stop\n"
    "data: {\"type\":\"content_block_stop\",\"index\":0}\n\n"
    "event: message_delta\n"
    "data: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\"}}\n\n"
    "event: message_stop\n"
    "data: {\"type\":\"message_stop\"}\n\n";

const std::string kGemini =
    "data: {\"candidates\": [{\"content\": {\"parts\": [{\"text\": \"Ciao\"}],\"role\": \"model\"},"
    "\"index\": 0}]}\r\n\r\n"
    "data: {\"candidates\": [{\"content\": {\"parts\": [{\"text\": \" mondo\"}],\"role\": "
    "\"model\"},"
    "\"finishReason\": \"STOP\",\"index\": 0}],\"usageMetadata\": {\"totalTokenCount\": "
    "5}}\r\n\r\n";

// Drops the last event (and everything after it) whose data contains `marker`.
std::string without(const std::string& stream, std::string_view marker) {
    const std::size_t at = stream.find(marker);
    REQUIRE(at != std::string::npos);
    std::size_t start = stream.rfind("\n\n", at);
    start = start == std::string::npos ? 0 : start + 2;
    return stream.substr(0, start);
}

}  // namespace

TEST_SUITE("textstream.text_stream") {
    TEST_CASE("streams of each provider give their text and a final newline") {
        struct Case {
            const std::string* stream;
            Format format;
            std::string_view text;
        };
        const Case cases[] = {
            {&kOpenAiChat, Format::openai, "Hello, w\xC3\xB6rld\n"},
            {&kCompletions, Format::openai, "Once upon\n"},
            {&kResponses, Format::responses, "Hi there\n"},
            {&kAnthropic, Format::anthropic, "Bonjour !\n"},
            {&kGemini, Format::gemini, "Ciao mondo\n"},
        };
        for (const Case& c : cases) {
            CAPTURE(*c.stream);
            const Run r = text_sse(*c.stream);
            CHECK(r.format == c.format);
            CHECK(r.out == c.text);
            CHECK_FALSE(r.ended_early);
            CHECK(r.warnings == 0);
            CHECK(r.errors == 0);
        }
    }

    TEST_CASE("a byte that is no UTF-8 in an event, first or later, is U+FFFD in the text") {
        const auto event = [](std::string_view content) {
            return "data: {\"choices\":[{\"delta\":{\"content\":\"" + std::string(content) +
                   "\"}}]}\n\n";
        };
        for (const bool first : {true, false}) {
            CAPTURE(first);
            const std::string body =
                (first ? "" : event("A")) + event("caf\xE9 ") + event("B") + "data: [DONE]\n\n";
            const Run r = text_sse(body);
            CHECK(r.format == Format::openai);
            CHECK(r.out == (first ? "" : "A") + std::string("caf\xEF\xBF\xBD B\n"));
            CHECK_FALSE(r.ended_early);
            CHECK(r.warnings + r.errors == 0);
        }
    }

    TEST_CASE("the text is the same whatever the chunk size") {
        for (const std::string* stream : {&kOpenAiChat, &kResponses, &kAnthropic, &kGemini}) {
            const std::string whole = text_sse(*stream).out;
            for (std::size_t piece = 1; piece < 64; ++piece) {
                CAPTURE(piece);
                CHECK(text_sse(*stream, piece).out == whole);
            }
        }
    }

    TEST_CASE("text comes out as each event completes, not at the end") {
        TextStream stream({TextStream::Mode::text, true});
        std::string out;
        const std::size_t second = kAnthropic.find("event: content_block_delta");
        const std::size_t third = kAnthropic.find("event: content_block_delta", second + 1);
        stream.feed(std::string_view(kAnthropic).substr(0, third), out);
        CHECK(out == "Bonjour");
        stream.feed(std::string_view(kAnthropic).substr(third), out);
        CHECK(out == "Bonjour !");
    }

    TEST_CASE("non-streaming JSON of each provider") {
        struct Case {
            std::string_view body;
            Format format;
            std::string_view text;
        };
        const Case cases[] = {
            {R"({"id":"c","object":"chat.completion","choices":[{"index":0,"message":{"role":"assistant","content":"Hi!\n"},"finish_reason":"stop"}]})",
             Format::openai, "Hi!\n"},
            {R"({"object":"text_completion","choices":[{"text":"done","index":0}]})",
             Format::openai, "done\n"},
            {R"({"id":"r","object":"response","output":[{"type":"reasoning","summary":[]},{"type":"message","content":[{"type":"output_text","text":"A"},{"type":"refusal","refusal":"no"},{"type":"output_text","text":"B"}]}]})",
             Format::responses, "AnoB\n"},
            {R"({"id":"m","type":"message","role":"assistant","content":[{"type":"thinking","thinking":"hmm"},{"type":"text","text":"Yes"}]})",
             Format::anthropic, "Yes\n"},
            {R"({"candidates":[{"content":{"parts":[{"text":"plan","thought":true},{"text":"Sì"}]}}]})",
             Format::gemini, "Sì\n"},
            {R"( [{"candidates":[{"content":{"parts":[{"text":"a"}]}}]},{"candidates":[{"content":{"parts":[{"text":"b"}]}}]}])",
             Format::gemini, "ab\n"},
        };
        for (const Case& c : cases) {
            CAPTURE(c.body);
            const Run r = text_json(c.body);
            CHECK(r.format == c.format);
            CHECK(r.out == c.text);
            CHECK(r.warnings == 0);
        }
    }

    TEST_CASE("only the first choice counts") {
        const std::string stream =
            "data: {\"choices\":[{\"index\":1,\"delta\":{\"content\":\"B\"}},{\"index\":0,"
            "\"delta\":{\"content\":\"A\"}}]}\n\ndata: [DONE]\n\n";
        CHECK(text_sse(stream).out == "A\n");
    }

    TEST_CASE("unknown formats fall back to the raw body with a warning") {
        const std::string sse = "data: {\"hello\":1}\n\ndata: {\"hello\":2}\n\n";
        Run r = text_sse(sse, 5);
        CHECK(r.format == Format::unknown);
        CHECK(r.out == sse);
        CHECK(r.warnings == 1);
        CHECK_FALSE(r.ended_early);

        r = text_sse("data: plain words\n\n");
        CHECK(r.out == "data: plain words\n\n");
        CHECK(r.warnings == 1);

        r = text_json("{\"models\":[]}");
        CHECK(r.out == "{\"models\":[]}");
        CHECK(r.warnings == 1);

        r = text_json("not json at all");
        CHECK(r.out == "not json at all");
        CHECK(r.warnings == 1);

        r = text_json("");
        CHECK(r.out.empty());
        CHECK(r.warnings == 0);
    }

    TEST_CASE("the first-bytes bound is decided at its byte, however the body is cut") {
        // The first event of a known format completes after max_event bytes: raw, with one
        // warning, for every chunk size (found by fuzz_text_stream: a cut just before the
        // blank line fell back, the whole body did not).
        const std::string stream =
            "x-pad: padding padding padding\ndata: {\"type\": \"ping\"}\n\n"
            "data: {\"choices\":[{\"delta\":{\"content\":\"A\"}}]}\n\n";
        for (std::size_t piece = 0; piece <= stream.size(); ++piece) {
            CAPTURE(piece);
            const Run r = run(stream, TextStream::Mode::text, true, piece, 37);
            CHECK(r.out == stream);
            CHECK(r.warnings == 1);
        }
    }

    TEST_CASE("an over-long event falls back to raw and keeps every byte from that event on") {
        const std::string long_text(100, 'x');
        const std::string stream =
            "data: {\"choices\":[{\"delta\":{\"content\":\"A\"}}]}\n\n"
            "data: {\"choices\":[{\"delta\":{\"content\":\"" +
            long_text + "\"}}]}\n\ndata: [DONE]\n\n";
        const Run r = run(stream, TextStream::Mode::text, true, 7, 64);
        CHECK(r.warnings == 1);
        const std::string tail = stream.substr(stream.find("data: {", 10));
        CHECK(r.out == "A\n" + tail);  // the raw part on a line of its own
        CHECK_FALSE(r.ended_early);
    }

    TEST_CASE("an over-long event falls back to raw from its first line, not its long one") {
        // Before, its "event:" line and the data lines before the long one were lost.
        const std::string long_text(100, 'x');
        const std::string head =
            "event: content_block_delta\r\n"
            "data: {\"type\":\"content_block_delta\",\"delta\":{\"text\":\"A\"}}\r\n\r\n";
        const std::string long_event =
            "event: content_block_delta\r\ndata: {\"type\":\"content_block_delta\",\r\n"
            "data: \"delta\":{\"text\":\"" +
            long_text +
            "\"}}\r\n\r\nevent: message_stop\r\ndata: {\"type\":\"message_stop\"}\r\n\r\n";
        for (const std::size_t piece : {0, 1, 5, 64}) {
            CAPTURE(piece);
            const Run r = run(head + long_event, TextStream::Mode::text, true, piece, 128);
            CHECK(r.format == Format::anthropic);
            CHECK(r.warnings == 1);
            CHECK(r.out == "A\n" + long_event);
        }
    }

    TEST_CASE("raw mode passes bytes unchanged and still watches the end marker") {
        Run r = raw_sse(kOpenAiChat);
        CHECK(r.out == kOpenAiChat);
        CHECK(r.format == Format::openai);
        CHECK_FALSE(r.ended_early);
        CHECK(r.warnings == 0);

        r = raw_sse(without(kOpenAiChat, "[DONE]"));
        CHECK(r.ended_early);
        r = raw_sse(without(kAnthropic, "message_stop"));
        CHECK(r.ended_early);
        r = raw_sse(without(kResponses, "response.completed"));
        CHECK(r.ended_early);
        // A Gemini stream ends with the finishReason of its candidate.
        r = raw_sse(kGemini.substr(0, kGemini.find("\r\n\r\n") + 4));
        CHECK(r.ended_early);
        // A stream of no known format is never judged.
        r = raw_sse("data: {\"x\":1}\n\n");
        CHECK_FALSE(r.ended_early);
    }

    TEST_CASE("end markers in text mode too, and an error event is reported") {
        Run r = text_sse(without(kOpenAiChat, "[DONE]"));
        CHECK(r.out == "Hello, w\xC3\xB6rld\n");
        CHECK(r.ended_early);

        const std::string cut = without(kAnthropic, "content_block_stop") +
                                "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":"
                                "\"overloaded_error\",\"message\":\"Overloaded\"}}\n\n";
        r = text_sse(cut);
        CHECK(r.out == "Bonjour !\n");
        CHECK(r.ended_early);
        CHECK(r.errors == 1);
    }

    TEST_CASE("an error event in plain words is reported too") {
        const std::string cut = without(kAnthropic, "content_block_stop") +
                                "event: error\ndata: upstream overloaded\n\n";
        const Run r = text_sse(cut);
        CHECK(r.out == "Bonjour !\n");
        CHECK(r.errors == 1);
    }

    TEST_CASE("JSON nested past any API's depth is not JSON, and nothing recurses through it") {
        // Read recursively, 300,000 levels overflowed the stack (a Gemini array of responses,
        // an error event's dump()).
        const std::string deep = std::string(300000, '[') + std::string(300000, ']');
        Run r = text_sse(kGemini + "data: " + deep + "\r\n\r\n");
        CHECK(r.format == Format::gemini);
        r = text_sse(without(kAnthropic, "content_block_stop") + "event: error\ndata: " + deep +
                     "\n\n");
        CHECK(r.out == "Bonjour !\n");
        r = text_json("[{\"candidates\":[]}," + deep + "]");
        CHECK(r.format == Format::gemini);
        CHECK(r.errors == 1);  // an element that is no JSON: its text is lost
        CHECK(r.out.empty());
        CHECK(llmgw::textstream::parse_json(std::string(128, '[') + std::string(128, ']'))
                  .is_array());
        CHECK(llmgw::textstream::parse_json(std::string(129, '[') + std::string(129, ']'))
                  .is_discarded());
        // Brackets inside strings do not count.
        CHECK(llmgw::textstream::parse_json("[\"" + std::string(200, '[') + "\\\"\"]").is_array());
    }

    TEST_CASE("response.incomplete and response.failed also end a Responses stream") {
        for (std::string_view type : {"response.incomplete", "response.failed"}) {
            const std::string stream = without(kResponses, "response.completed") +
                                       "event: " + std::string(type) + "\ndata: {\"type\":\"" +
                                       std::string(type) + "\",\"response\":{}}\n\n";
            CHECK_FALSE(raw_sse(stream).ended_early);
        }
    }
}
