// What `llmgw call` writes for a response body, chunk by chunk: the bytes as they are (raw),
// or only the generated text (text). Either way an event stream is parsed on the side, to
// learn its format, the errors it reports and whether it reached its end marker: a stream of
// a known format that stops before it was cut, even when the transfer itself ended cleanly.
//
// Text mode: an event stream yields text per event, as it arrives; so does a JSON array of
// answers (Gemini's streamGenerateContent without alt=sse), per element, cut unless its
// closing bracket came; any other body is read whole and its JSON turned into text at the
// end. The text ends with a newline (none when there is no text and an error was reported).
// A body of an unknown format, or an event over the bound, falls back to the raw bytes with
// a warning; the end marker is still looked for in the events after an over-long one.
// An error the stream reports, before its first answer event too, is an error note and is
// never printed as text.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "textstream/formats.hpp"
#include "textstream/json_array_reader.hpp"
#include "textstream/sse_parser.hpp"

namespace llmgw::textstream {

struct Note {
    // The answer is not whole: the stream reported an error, or its text was lost. Else a
    // warning, which --quiet hides.
    bool error = false;
    std::string text;
};

class TextStream {
  public:
    enum class Mode { raw, text };
    struct Options {
        Mode mode = Mode::raw;
        bool event_stream = false;                            // Content-Type text/event-stream
        std::size_t max_event = SseParser::kDefaultMaxEvent;  // also bounds an array element
        bool json_lines = false;  // application/x-ndjson: a JSON value a line (Ollama)
    };

    explicit TextStream(Options options);

    // Appends to `out` what goes to the output for this chunk of the body.
    void feed(std::string_view chunk, std::string& out);
    enum class Transfer { whole, failed };
    // The body ended: appends the rest (a JSON body's text, the newline after the text). An
    // answer without text ends with a newline only when its transfer was whole and it reported
    // no error: a cut before any text prints nothing, as when the gateway said the cut. A
    // failed transfer's unfinished last event or line is left out.
    void finish(std::string& out, Transfer transfer = Transfer::whole);

    // Warnings and errors since the last call, oldest first.
    std::vector<Note> take_notes() { return std::move(notes_); }

    Format format() const { return format_; }
    // After finish(): why the body is not whole although its transfer may have ended cleanly
    // ("the Gemini stream ended before its end marker (finishReason)"), for a message; empty
    // when it is whole or that cannot be told. An event stream of a known format without its
    // end marker; in text mode also an event stream without any event, and a JSON array
    // without its closing bracket.
    std::string cut_reason() const;
    bool ended_early() const { return !cut_reason().empty(); }
    // The stream's end marker ([DONE], message_stop, "done": true, …) came: as the SDKs read
    // it, the answer is whole.
    bool reached_end_marker() const { return ended_; }

  private:
    void feed_part(std::string_view chunk, std::string& out);
    bool reads_array() const;
    void handle_events(std::string& out);
    void handle_elements(std::string& out);
    void read_lines(std::string_view chunk, std::string& out);
    void handle_line(std::string& out);
    void give_up_past_bound(std::string_view unit, std::string& out);
    void note_unverified_end(std::string_view unit);
    void handle_overlong_event(const SseEvent& event, std::string& out);
    // One event's data, or one element of a JSON array (`type` empty).
    void handle_data(std::string_view type, std::string_view data, std::string& out);
    void finish_whole_body(std::string& out);
    void report_error(std::string text);
    void fall_back_to_raw(std::string_view why, std::string& out);
    void emit_text(std::string_view text, std::string& out);

    Options options_;
    SseParser parser_;
    JsonArrayReader array_;  // text mode, a body that is no event stream
    std::vector<SseEvent> events_;
    std::vector<JsonElement> elements_;
    std::vector<Note> notes_;
    Format format_ = Format::unknown;
    bool undetectable_ = false;  // the first answer event was of no known format: stop looking
    bool raw_ = false;           // text mode gave up: bytes pass as they are
    bool ended_ = false;         // the end marker was seen
    bool saw_event_ = false;     // an event (or array element) with data came
    bool unverified_ = false;    // the last event was over the bound: its end marker unknown
    bool error_reported_ = false;
    bool malformed_reported_ = false;
    bool text_printed_ = false;
    bool text_after_end_noted_ = false;
    bool finished_ = false;
    std::string held_;      // text mode: bytes not yet known to be text or raw
    std::string unparsed_;  // from the over-long event (or element) on, for the fallback
    std::string line_;      // JSON lines: the line so far
    bool skipping_line_ = false;  // JSON lines: the rest of an over-long line
    char last_char_ = '\0';
};

}  // namespace llmgw::textstream
