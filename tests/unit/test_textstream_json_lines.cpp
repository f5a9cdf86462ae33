// TextStream: Ollama's JSON lines (application/x-ndjson), streamed, and its whole answers.
#include <doctest/doctest.h>

#include <string>
#include <string_view>

#include "text_stream_run.hpp"
#include "textstream/text_stream.hpp"

using llmgw::textstream::Format;
using llmgw::textstream::TextStream;

namespace {

using Run = llmgw::test::TextStreamRun;

Run lines(std::string_view body, bool text = true, std::size_t piece = 0,
          std::size_t max_event = 1 << 20) {
    return llmgw::test::run_text_stream(body, text ? TextStream::Mode::text : TextStream::Mode::raw,
                                        false, piece, max_event, true);
}

std::string chat_line(std::string_view content, bool done = false) {
    return R"({"model":"llama3","created_at":"2026-11-30T13:00:00Z","message":{"role":"assistant","content":")" +
           std::string(content) + R"("},"done":)" + (done ? "true" : "false") + "}\n";
}

std::string generate_line(std::string_view response, bool done = false) {
    return R"({"model":"llama3","response":")" + std::string(response) + R"(","done":)" +
           (done ? "true" : "false") + "}\n";
}

}  // namespace

TEST_SUITE("textstream.json_lines") {
    TEST_CASE("Ollama's chat and generate streams give their text as each line completes") {
        const std::string chat =
            chat_line("Hel") + chat_line("lo") +
            R"({"model":"llama3","message":{"role":"assistant","content":""},"done":true,"total_duration":1})"
            "\n";
        const std::string generate =
            generate_line("Hel") + generate_line("lo") + generate_line("", true);
        for (const std::string& body : {chat, generate}) {
            for (const std::size_t piece : {0, 1, 5, 64}) {
                CAPTURE(piece);
                const Run r = lines(body, true, piece);
                CHECK(r.format == Format::ollama);
                CHECK(r.out == "Hello\n");
                CHECK(r.cut.empty());
                CHECK(r.warnings + r.errors == 0);
            }
        }
        // Text as each line completes: before, nothing came out until the body ended (the
        // bytes were held to be parsed as one JSON document, and then printed raw).
        llmgw::textstream::TextStream stream({TextStream::Mode::text, false, 1 << 20, true});
        std::string out;
        stream.feed(chat_line("Hel"), out);
        CHECK(out == "Hel");
        stream.feed(chat_line("lo").substr(0, 10), out);
        CHECK(out == "Hel");
        stream.feed(chat_line("lo").substr(10), out);
        CHECK(out == "Hello");
    }

    TEST_CASE("a stream without its done line is cut, raw or text; CRLF and blank lines pass") {
        const std::string body = chat_line("a") + chat_line("b");
        for (const bool text : {true, false}) {
            CAPTURE(text);
            const Run r = lines(body, text);
            CHECK(r.cut == "the Ollama stream ended before its end marker (\"done\": true)");
            CHECK(r.out == (text ? std::string("ab\n") : body));
        }
        const Run crlf = lines("\r\n" + chat_line("a").insert(chat_line("a").size() - 1, "\r") +
                               "\n" + chat_line("", true));
        CHECK(crlf.out == "a\n");
        CHECK(crlf.cut.empty());
        // The last line needs no line end.
        std::string last = chat_line("", true);
        last.pop_back();
        CHECK(lines(chat_line("x") + last).cut.empty());
    }

    TEST_CASE("an error line is an error; lines of no known format are printed as they come") {
        Run r = lines(R"({"error":"model 'x' not found"})"
                      "\n");
        CHECK(r.errors == 1);
        CHECK(r.notes == "the stream reported an error: model 'x' not found\n");
        CHECK(r.out.empty());
        r = lines(chat_line("a") + R"({"error":"out of memory"})"
                                   "\n");
        CHECK(r.errors == 1);
        CHECK(r.out == "a\n");
        CHECK_FALSE(r.cut.empty());
        // Not Ollama's: printed as it is, from the first line on, not held to the end.
        const std::string other = "{\"a\":1}\n{\"a\":2}\n";
        llmgw::textstream::TextStream stream({TextStream::Mode::text, false, 1 << 20, true});
        std::string out;
        stream.feed(other.substr(0, 8), out);
        CHECK(out == other.substr(0, 8));
        stream.feed(other.substr(8), out);
        stream.finish(out);
        CHECK(out == other);
        r = lines(other);
        CHECK(r.warnings == 1);
        CHECK(r.cut.empty());
    }

    TEST_CASE("a line over the bound falls back to raw from its first byte") {
        const std::string first = chat_line("A");
        const std::string long_line = chat_line(std::string(100, 'x'));
        const std::string after = chat_line("B") + chat_line("", true);
        for (const std::size_t piece : {0, 1, 7}) {
            CAPTURE(piece);
            const Run r = lines(first + long_line + after, true, piece, 150);
            CHECK(r.out == "A\n" + long_line + after);
            CHECK(r.cut.empty());
            CHECK(r.warnings == 1);
            // Over-long and last: its "done" cannot be told.
            const Run last = lines(first + long_line, true, piece, 150);
            CHECK(last.cut.empty());
            CHECK(last.notes.find("cannot tell whether the stream reached its end marker") !=
                  std::string::npos);
        }
    }

    TEST_CASE("a whole Ollama answer (stream: false) gives its text") {
        const Run chat = llmgw::test::run_text_stream(
            R"({"model":"m","message":{"role":"assistant","content":"Hi there"},"done":true})",
            TextStream::Mode::text, false);
        CHECK(chat.format == Format::ollama);
        CHECK(chat.out == "Hi there\n");
        const Run generate = llmgw::test::run_text_stream(
            R"({"model":"m","response":"Hi","done":true})", TextStream::Mode::text, false);
        CHECK(generate.out == "Hi\n");
    }
}
