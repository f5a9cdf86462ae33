// An incremental parser for Server-Sent Events (the WHATWG event-stream format). Bytes go in
// as they arrive, split at any byte, and complete events come out. Lines end in CRLF, LF or
// CR; data lines are joined with "\n"; comment lines (":…") and unknown fields are skipped.
// An event longer than the bound is not kept: it comes out as an over-long event without its
// data, and the events after it are read as usual.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace llmgw::textstream {

struct SseEvent {
    std::string type;  // the "event" field; empty means the default type "message"
    std::string data;  // the "data" lines joined with '\n'
    std::string id;    // the "id" field of this event, if it had one
    // It passed the bound: data is empty, type and id are those of the lines before that.
    bool overlong = false;
};

class SseParser {
  public:
    static constexpr std::size_t kDefaultMaxEvent = 1024 * 1024;
    explicit SseParser(std::size_t max_event = kDefaultMaxEvent) : max_event_(max_event) {}

    // Parses `bytes` and appends each event completed by them to `events`. Returns false
    // when an event in progress passed the bound in these bytes (its lines and their line
    // ends, from the byte after the previous event's blank line): that event is appended at
    // once as an over-long one, the rest of it is skipped up to its blank line, and
    // take_unparsed() holds the raw bytes from its first byte to the end of `bytes`.
    bool feed(std::string_view bytes, std::vector<SseEvent>& events);
    // End of input. Unlike a browser, a last event whose blank line never came is still
    // delivered: servers often close right after "data: [DONE]\n".
    void finish(std::vector<SseEvent>& events);

    // Some event passed the bound.
    bool overflowed() const { return overflowed_; }
    // After feed() returned false: the bytes of the first event that passed the bound in
    // that call, as they came, and the rest of that call's bytes.
    std::string take_unparsed() { return std::move(unparsed_); }

  private:
    // Adds a piece of the line in progress; `rest_of_chunk` starts with it.
    void append(std::string_view part, std::string_view rest_of_chunk, bool& first_overflow,
                std::vector<SseEvent>& events);
    void end_line(std::string_view terminator, std::vector<SseEvent>& events);
    void take_line(std::string_view line, std::vector<SseEvent>& events);
    void dispatch(std::vector<SseEvent>& events);

    std::size_t max_event_;
    std::string event_bytes_;     // the event in progress as it came, line ends included
    std::size_t line_start_ = 0;  // where the line in progress starts in event_bytes_
    SseEvent pending_;
    bool has_data_ = false;   // a data field was seen for pending_
    bool after_cr_ = false;   // the last byte was CR: an LF right after it ends no new line
    bool first_line_ = true;  // a UTF-8 byte order mark may start the stream
    bool skipping_ = false;   // the event in progress passed the bound: up to its blank line
    bool line_empty_ = true;  // while skipping: the line in progress has no byte yet
    bool overflowed_ = false;
    std::string unparsed_;
};

}  // namespace llmgw::textstream
