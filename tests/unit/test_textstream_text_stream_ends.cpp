// TextStream: how a body ends. Errors before the first answer event, refusals, Gemini's end
// and blocked prompts, events that are not JSON, streams without events, over-long events,
// and Gemini's JSON array of answers read as it arrives.
#include <doctest/doctest.h>

#include <string>
#include <string_view>

#include "text_stream_run.hpp"
#include "textstream/text_stream.hpp"

using llmgw::textstream::Format;
using llmgw::textstream::TextStream;

namespace {

using Run = llmgw::test::TextStreamRun;

Run run(std::string_view body, bool text, bool event_stream, std::size_t piece = 0,
        std::size_t max_event = 1 << 20) {
    return llmgw::test::run_text_stream(body, text ? TextStream::Mode::text : TextStream::Mode::raw,
                                        event_stream, piece, max_event);
}

Run text_sse(std::string_view body, std::size_t piece = 0) { return run(body, true, true, piece); }
Run text_json(std::string_view body, std::size_t piece = 0) {
    return run(body, true, false, piece);
}

std::string gemini_part(std::string_view text, std::string_view extra = "") {
    return R"({"candidates":[{"content":{"parts":[{"text":")" + std::string(text) +
           R"("}],"role":"model"},"index":0)" + std::string(extra) + "}]}";
}

}  // namespace

TEST_SUITE("textstream.text_stream_ends") {
    TEST_CASE("a transfer that failed mid-event or mid-line leaves that piece out, with no note") {
        // Before (found by a read-only review on 12-02): the half event was read as a whole
        // one, and `call --text` said an event "is not JSON" ahead of the real network error.
        using Transfer = TextStream::Transfer;
        const std::string first = R"(data: {"choices":[{"index":0,"delta":{"content":"a"}}]})";
        for (const std::size_t piece : {std::size_t{0}, std::size_t{3}}) {
            CAPTURE(piece);
            const Run sse = llmgw::test::run_text_stream(first + "\n\n" + R"(data: {"choi)",
                                                         TextStream::Mode::text, true, piece,
                                                         1 << 20, false, Transfer::failed);
            CHECK(sse.out == "a\n");
            CHECK(sse.errors == 0);
            CHECK(sse.warnings == 0);
            const Run lines = llmgw::test::run_text_stream(
                R"({"message":{"content":"a"},"done":false})"
                "\n"
                R"({"mess)",
                TextStream::Mode::text, false, piece, 1 << 20, true, Transfer::failed);
            CHECK(lines.out == "a\n");
            CHECK(lines.errors == 0);
            // A whole last line whose line end never came is still read.
            const Run last = llmgw::test::run_text_stream(
                R"({"message":{"content":"a"},"done":false})"
                "\n"
                R"({"message":{"content":"b"},"done":true})",
                TextStream::Mode::text, false, piece, 1 << 20, true, Transfer::failed);
            CHECK(last.out == "ab\n");
            CHECK(last.errors == 0);
        }
        // Whole, a last event without its blank line is still read (servers close right after
        // "data: [DONE]\n"), and one that is not JSON is said to be.
        const Run whole = text_sse(first + "\n\n" + R"(data: {"choi)");
        CHECK(whole.errors == 1);
    }

    TEST_CASE("an error as the first event is an error, not a body of no known format") {
        const std::string_view streams[] = {
            "data: {\"error\":{\"message\":\"The server had an error\",\"type\":\"server_error\"}}"
            "\n\n",
            "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\","
            "\"message\":\"Overloaded\"}}\n\n",
            "event: error\ndata: {\"type\":\"error\",\"code\":\"server_error\",\"message\":"
            "\"boom\",\"param\":null}\n\n",
            "event: error\ndata: upstream overloaded\n\n",
        };
        const std::string_view messages[] = {"The server had an error", "Overloaded", "boom",
                                             "upstream overloaded"};
        for (std::size_t i = 0; i < 4; ++i) {
            CAPTURE(streams[i]);
            for (const bool text : {true, false}) {
                const Run r = run(streams[i], text, true);
                CHECK(r.errors == 1);
                CHECK(r.warnings == 0);
                CHECK(r.notes ==
                      "the stream reported an error: " + std::string(messages[i]) + "\n");
                CHECK(r.out == (text ? std::string() : std::string(streams[i])));
                CHECK(r.cut.empty());  // the error said it
            }
        }
    }

    TEST_CASE("after a first error, the next event still decides the format") {
        const Run r = text_sse(
            "data: {\"error\":{\"message\":\"slow down\"}}\n\n"
            "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"late\"}}]}\n\n");
        CHECK(r.format == Format::openai);
        CHECK(r.out == "late\n");
        CHECK(r.errors == 1);
        CHECK_FALSE(r.cut.empty());  // and no [DONE]
    }

    TEST_CASE("an error event after a first event of no known format is still an error") {
        // Before, a stream of no known format (a Cohere-like first event) said nothing of the
        // error event after it, and exited 0, where a first error event alone gave exit 4.
        const std::string unknown = "data: {\"type\":\"message-start\",\"id\":\"x\"}\n\n";
        const std::string error =
            "event: error\ndata: {\"error\":{\"message\":\"upstream reset\"}}\n\n";
        for (const bool text : {true, false}) {
            CAPTURE(text);
            const Run r = run(unknown + error, text, true);
            CHECK(r.out == unknown + error);  // printed as it is
            CHECK(r.errors == 1);
            CHECK(r.notes.find("the stream reported an error: upstream reset\n") !=
                  std::string::npos);
        }
        // The same for an over-long error event, first or after one of no known format.
        const std::string long_error = "event: error\ndata: " + std::string(300, 'x') + "\n\n";
        for (const std::string& body : {long_error, unknown + long_error}) {
            for (const bool text : {true, false}) {
                CAPTURE(text);
                const Run r = run(body, text, true, 0, 100);
                CHECK(r.errors == 1);
                CHECK(r.notes.find("the stream reported an error in an event longer than 100 "
                                   "bytes") != std::string::npos);
            }
        }
    }

    TEST_CASE("an error event without data, or with an empty error, is an error") {
        const std::string done = "data: [DONE]\n\n";
        const std::string chunk = "data: {\"choices\":[{\"delta\":{\"content\":\"A\"}}]}\n\n";
        for (const std::string& before : {std::string(), chunk}) {
            for (const bool text : {true, false}) {
                CAPTURE(before);
                CAPTURE(text);
                Run r = run(before + "event: error\ndata:\n\n" + done, text, true);
                CHECK(r.errors == 1);
                CHECK(r.notes.find("the stream reported an error: an error event without data\n") !=
                      std::string::npos);
                r = run(before + "data: {\"error\":\"\"}\n\n" + done, text, true);
                CHECK(r.errors == 1);
                CHECK(r.notes.find("the stream reported an error: {\"error\":\"\"}\n") !=
                      std::string::npos);
                r = run(before + "data: {\"error\":{}}\n\n" + done, text, true);
                CHECK(r.errors == 1);
                CHECK(r.notes.find("the stream reported an error: {\"error\":{}}\n") !=
                      std::string::npos);
                // "error": null is no error (some servers send it in every chunk).
                r = run(before + "data: {\"choices\":[],\"error\":null}\n\n" + done, text, true);
                CHECK(r.errors == 0);
            }
        }
    }

    TEST_CASE("[DONE] with blanks around it ends the stream, as it is taken for the marker") {
        // Before, " [DONE]" and "[DONE]\t" were taken for the marker (no "not JSON" error) and
        // yet the stream was said to end before it (exit 4).
        const std::string chunk = "data: {\"choices\":[{\"delta\":{\"content\":\"A\"}}]}\n\n";
        for (const std::string_view marker :
             {"data:  [DONE]\n\n", "data: [DONE]\t\n\n", "data: [DONE] \r\n\r\n"}) {
            for (const bool text : {true, false}) {
                CAPTURE(marker);
                CAPTURE(text);
                const Run r = run(chunk + std::string(marker), text, true);
                CHECK(r.cut.empty());
                CHECK(r.errors + r.warnings == 0);
            }
        }
    }

    TEST_CASE("refusals are the model's answer") {
        Run r = text_sse(
            "data: "
            "{\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"refusal\":\"\"}}]}"
            "\n\ndata: {\"choices\":[{\"index\":0,\"delta\":{\"refusal\":\"I can't \"}}]}\n\n"
            "data: {\"choices\":[{\"index\":0,\"delta\":{\"refusal\":\"help.\"}}]}\n\n"
            "data: [DONE]\n\n");
        CHECK(r.out == "I can't help.\n");
        r = text_json(
            R"({"object":"chat.completion","choices":[{"index":0,"message":{"role":"assistant","content":null,"refusal":"No."}}]})");
        CHECK(r.out == "No.\n");
        r = text_sse(
            "event: response.created\ndata: {\"type\":\"response.created\",\"response\":{}}\n\n"
            "event: response.refusal.delta\ndata: {\"type\":\"response.refusal.delta\","
            "\"delta\":\"Sorry\"}\n\n"
            "event: response.completed\ndata: {\"type\":\"response.completed\"}\n\n");
        CHECK(r.out == "Sorry\n");
        r = text_json(
            R"({"object":"response","output":[{"type":"message","content":[{"type":"refusal","refusal":"I can't."}]}]})");
        CHECK(r.out == "I can't.\n");
    }

    TEST_CASE("a Gemini event stream ends with its candidate's finishReason") {
        const std::string done = "data: " + gemini_part("Ciao") + "\r\n\r\ndata: " +
                                 gemini_part(" mondo", R"(,"finishReason":"STOP")") + "\r\n\r\n";
        Run r = text_sse(done);
        CHECK(r.out == "Ciao mondo\n");
        CHECK(r.cut.empty());
        r = text_sse(done.substr(0, done.find("\r\n\r\n") + 4));
        CHECK(r.out == "Ciao\n");
        CHECK(r.cut == "the Gemini stream ended before its end marker (finishReason)");
    }

    TEST_CASE("a prompt Gemini blocked is an error, streamed or not") {
        const std::string blocked = R"({"promptFeedback":{"blockReason":"SAFETY"}})";
        for (const bool streamed : {true, false}) {
            CAPTURE(streamed);
            const Run r = streamed ? text_sse("data: " + blocked + "\r\n\r\n") : text_json(blocked);
            CHECK(r.format == Format::gemini);
            CHECK(r.errors == 1);
            CHECK(r.notes == "Gemini blocked the prompt: SAFETY\n");
            CHECK(r.out.empty());
            CHECK(r.cut.empty());
        }
        // Feedback without a block reason is the usual kind.
        const Run r = text_json(
            R"({"candidates":[{"content":{"parts":[{"text":"ok"}]}}],"promptFeedback":{"safetyRatings":[]}})");
        CHECK(r.out == "ok\n");
        CHECK(r.errors == 0);
    }

    TEST_CASE("with several Gemini candidates only index 0 counts") {
        const std::string stream =
            "data: {\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"X\"}]},\"index\":1}]}\n\n"
            "data: {\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"Y\"}]},\"index\":0,"
            "\"finishReason\":\"STOP\"}]}\n\n"
            "data: {\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"Z\"}]},\"index\":1,"
            "\"finishReason\":\"STOP\"}]}\n\n";
        const Run r = text_sse(stream);
        CHECK(r.out == "Y\n");
        CHECK(r.cut.empty());
    }

    TEST_CASE("an event that is not JSON once the format is known is an error") {
        const Run r = text_sse(
            "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"a\"}}]}\n\n"
            "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"b\n\n"
            "data: [DONE]\n\n");
        CHECK(r.out == "a\n");
        CHECK(r.errors == 1);
        CHECK(r.notes.find("not JSON") != std::string::npos);
        // [DONE] in another format, and "data:" alone, are no error.
        CHECK(text_sse("event: message_stop\ndata: {\"type\":\"message_stop\"}\n\ndata: [DONE]\n\n"
                       "data:\n\n")
                  .errors == 0);
    }

    TEST_CASE("an event stream without any event is cut, and prints nothing") {
        for (const std::string_view body :
             {std::string_view(), std::string_view(": OPENROUTER PROCESSING\n\n: ping\n\n"),
              std::string_view("event: ping\n\nretry: 10\n\n")}) {
            CAPTURE(body);
            const Run r = text_sse(body);
            CHECK(r.out.empty());
            CHECK(r.warnings == 0);
            CHECK(r.cut == "the event stream ended before its end marker: it had no events");
        }
        // Without --text nothing is judged: the bytes are all the answer there is.
        CHECK(run(": ping\n\n", false, true).cut.empty());
    }

    TEST_CASE("a body that is no event stream, though labelled one, is printed as it is") {
        // Before (the first version of the check above): nothing printed, exit 4, so a
        // proxy's JSON error or HTML page sent as text/event-stream was never seen.
        for (const std::string_view body :
             {std::string_view("{\"error\":{\"message\":\"quota exceeded\"}}\n"),
              std::string_view("<html><body>Bad gateway</body></html>"),
              std::string_view("\xEF\xBB\xBF: ok\n\nnot a field line\n")}) {
            CAPTURE(body);
            for (const std::size_t piece : {0, 1, 5}) {
                const Run r = run(body, true, true, piece);
                CHECK(r.out == body);
                CHECK(r.warnings == 1);
                CHECK(r.notes.find("not an event stream") != std::string::npos);
                CHECK(r.cut.empty());
            }
        }
    }

    TEST_CASE("a JSON array of elements of no known format is held no longer than the bound") {
        std::string body = "[";
        for (int i = 0; i < 20; ++i) body += "{\"error\":{\"code\":500,\"message\":\"x\"}},";
        body += "{\"error\":{\"code\":500}}]";
        const Run r = run(body, true, false, 16, 128);
        CHECK(r.out == body);  // raw once past 128 bytes, every byte kept
        CHECK(r.notes.find("no element of a known format in the first 128 bytes") !=
              std::string::npos);
    }

    TEST_CASE("a prompt Gemini blocked is an error with --text only") {
        const std::string body = "data: {\"promptFeedback\":{\"blockReason\":\"SAFETY\"}}\n\n";
        CHECK(run(body, true, true).errors == 1);
        const Run raw = run(body, false, true);
        CHECK(raw.errors == 0);  // the raw JSON says it, as a non-streamed answer's does
        CHECK(raw.out == body);
    }

    TEST_CASE("data: [DONE] alone is a whole OpenAI answer without text") {
        const Run r = text_sse("data: [DONE]\n\n");
        CHECK(r.format == Format::openai);
        CHECK(r.out == "\n");
        CHECK(r.cut.empty());
        CHECK(r.warnings + r.errors == 0);
    }

    TEST_CASE("text after the end marker is left out, with a warning") {
        const std::string a = "data: {\"choices\":[{\"delta\":{\"content\":\"a\"}}]}\n\n";
        const std::string after = "data: {\"choices\":[{\"delta\":{\"content\":\"AFTER\"}}]}\n\n";
        const Run r = text_sse(a + "data: [DONE]\n\n" + after + after);
        CHECK(r.out == "a\n");
        CHECK(r.warnings == 1);
        CHECK(r.errors == 0);
        CHECK(r.cut.empty());
        const Run quiet = text_sse(a + "data: [DONE]\n\n" + "data: {\"usage\":{}}\n\n");
        CHECK(quiet.warnings == 0);  // nothing of text was left out
        CHECK(run(a + "data: [DONE]\n\n" + after, false, true).out ==
              a + "data: [DONE]\n\n" + after);  // raw: every byte
    }

    TEST_CASE("a failed transfer ends with a newline only after text") {
        const auto finished = [](std::string_view body, TextStream::Transfer transfer) {
            TextStream stream({.mode = TextStream::Mode::text, .event_stream = true});
            std::string out;
            stream.feed(body, out);
            stream.finish(out, transfer);
            return out;
        };
        const std::string role =
            "data: {\"choices\":[{\"delta\":{\"role\":\"assistant\",\"content\":\"\"}}]}\n\n";
        const std::string text = "data: {\"choices\":[{\"delta\":{\"content\":\"Hi\"}}]}\n\n";
        CHECK(finished(role, TextStream::Transfer::failed) == "");
        CHECK(finished(role, TextStream::Transfer::whole) == "\n");
        CHECK(finished(role + text, TextStream::Transfer::failed) == "Hi\n");
    }

    TEST_CASE("after an over-long event the end marker is still looked for") {
        const std::string first = "data: {\"choices\":[{\"delta\":{\"content\":\"A\"}}]}\n\n";
        const std::string long_event =
            "data: {\"choices\":[{\"delta\":{\"content\":\"" + std::string(100, 'x') + "\"}}]}\n\n";
        const std::string after = "data: {\"choices\":[{\"delta\":{\"content\":\"B\"}}]}\n\n";
        for (const std::size_t piece : {0, 1, 7}) {
            CAPTURE(piece);
            Run r = run(first + long_event + after, true, true, piece, 64);
            CHECK(r.out == "A\n" + long_event + after);
            CHECK(r.cut ==
                  "the OpenAI chat/completions stream ended before its end marker (data: [DONE])");
            r = run(first + long_event + after + "data: [DONE]\n\n", true, true, piece, 64);
            CHECK(r.cut.empty());
            // The over-long event last: its data may have been the marker, which cannot be told.
            r = run(first + long_event, true, true, piece, 64);
            CHECK(r.cut.empty());
            CHECK(r.notes.find("cannot tell whether the stream reached its end marker") !=
                  std::string::npos);
        }
        // An over-long event's type still counts, and names it when it is not the end.
        const std::string anthropic =
            "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{}}\n\n"
            "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"delta\":{"
            "\"text\":\"" +
            std::string(100, 'x') + "\"}}\n\n";
        CHECK(run(anthropic, false, true, 0, 64).cut ==
              "the Anthropic Messages stream ended before its end marker (message_stop)");
        CHECK(run(anthropic + "event: message_stop\ndata: {" + std::string(100, ' ') + "}\n\n",
                  false, true, 0, 64)
                  .cut.empty());
    }

    TEST_CASE("a Gemini JSON array prints each element's text as its closing brace arrives") {
        const std::string body = "[" + gemini_part("One ") + ",\r\n" + gemini_part("Two ") +
                                 ",\r\n" + gemini_part("Three", R"(,"finishReason":"STOP")") +
                                 "\r\n]";
        TextStream stream({TextStream::Mode::text, false});
        std::string out;
        const std::size_t second = body.find("Two");
        stream.feed(std::string_view(body).substr(0, second), out);
        CHECK(out == "One ");
        stream.feed(std::string_view(body).substr(second), out);
        CHECK(out == "One Two Three");
        stream.finish(out);
        CHECK(out == "One Two Three\n");
        CHECK(stream.cut_reason().empty());
        CHECK(stream.take_notes().empty());
        for (std::size_t piece = 1; piece < 40; ++piece) {
            CAPTURE(piece);
            CHECK(text_json(body, piece).out == "One Two Three\n");
        }
    }

    TEST_CASE("a Gemini JSON array that never reached its ] is cut, and no raw JSON follows") {
        const std::string body = "[" + gemini_part("One ") + ",\r\n" + gemini_part("Two ");
        for (const std::size_t cut : {body.size(), body.size() - 10}) {
            const Run r = text_json(body.substr(0, cut));
            CHECK(r.format == Format::gemini);
            CHECK(r.out == (cut == body.size() ? "One Two \n" : "One \n"));
            CHECK(r.cut ==
                  "the Gemini stream ended before its end marker (the ] that closes its JSON "
                  "array)");
            CHECK(r.warnings + r.errors == 0);
        }
    }

    TEST_CASE("an error element of a Gemini JSON array is a stream error") {
        const std::string error =
            R"({"error":{"code":500,"message":"Internal","status":"INTERNAL"}})";
        Run r = text_json("[" + gemini_part("One ") + ",\r\n" + error + "]");
        CHECK(r.out == "One \n");
        CHECK(r.errors == 1);
        CHECK(r.notes == "the stream reported an error: Internal\n");
        r = text_json("[" + error + "]");
        CHECK(r.out.empty());
        CHECK(r.errors == 1);
        CHECK(r.warnings == 0);
    }

    TEST_CASE("a JSON array of no known format is printed as it is") {
        for (const std::string_view body : {"[1,2]", "[{\"id\":1}]", "[]", "[\"a\" \"b\"]"}) {
            CAPTURE(body);
            const Run r = text_json(body);
            CHECK(r.out == body);
            CHECK(r.warnings == 1);
        }
    }
}
