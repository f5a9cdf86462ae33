// What `llmgw call` writes for a response body, chunk by chunk: the bytes as they are (raw),
// or only the generated text (text). Either way an event stream is parsed on the side, to
// learn its format and whether it reached its end marker: a stream of a known format that
// stops before it was cut, even when the transfer itself ended cleanly.
//
// Text mode: an event stream yields text per event, as it arrives; any other body is read
// whole and its JSON turned into text at the end; the text ends with a newline. A body of an
// unknown format, or an event over the bound, falls back to the raw bytes with a
// warning.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "textstream/formats.hpp"
#include "textstream/sse_parser.hpp"

namespace llmgw::textstream {

struct Note {
    bool error = false;  // a stream reported an error; else a warning (which --quiet hides)
    std::string text;
};

class TextStream {
  public:
    enum class Mode { raw, text };
    struct Options {
        Mode mode = Mode::raw;
        bool event_stream = false;  // Content-Type text/event-stream
        std::size_t max_event = SseParser::kDefaultMaxEvent;
    };

    explicit TextStream(Options options);

    // Appends to `out` what goes to the output for this chunk of the body.
    void feed(std::string_view chunk, std::string& out);
    // The body ended (cleanly or not): appends the rest (a JSON body's text, the newline).
    void finish(std::string& out);

    // Warnings and stream errors since the last call, oldest first.
    std::vector<Note> take_notes() { return std::move(notes_); }

    Format format() const { return format_; }
    // After finish(): an event stream of a known format whose end marker never came.
    bool ended_early() const;

  private:
    void feed_part(std::string_view chunk, std::string& out);
    void handle_events(std::string& out);
    void handle_event(const SseEvent& event, std::string& out);
    void fall_back_to_raw(std::string_view why, std::string& out);
    void emit_text(std::string_view text, std::string& out);

    Options options_;
    SseParser parser_;
    std::vector<SseEvent> events_;
    std::vector<Note> notes_;
    Format format_ = Format::unknown;
    bool undetectable_ = false;  // the first event was of no known format: stop looking
    bool tracking_ = true;       // the parser still follows the stream (no overflow)
    bool raw_ = false;           // text mode gave up: bytes pass as they are
    bool ended_ = false;         // the end marker was seen
    bool finished_ = false;
    std::string held_;  // text mode: bytes not yet known to be text or raw
    char last_char_ = '\0';
};

}  // namespace llmgw::textstream
