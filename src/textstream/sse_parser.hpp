// An incremental parser for Server-Sent Events (the WHATWG event-stream format). Bytes go in
// as they arrive, split at any byte, and complete events come out. Lines end in CRLF, LF or
// CR; data lines are joined with "\n"; comment lines (":…") and unknown fields are skipped.
// An event longer than the bound stops the parser instead of growing memory without limit.
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
};

class SseParser {
  public:
    static constexpr std::size_t kDefaultMaxEvent = 1024 * 1024;
    explicit SseParser(std::size_t max_event = kDefaultMaxEvent) : max_event_(max_event) {}

    // Parses `bytes` and appends each event completed by them to `events`. Returns false
    // once the event in progress passed the bound (its lines and their line ends, from the
    // byte after the previous event's blank line): the parser then ignores all further
    // input, and take_unparsed() holds the raw bytes it could not parse.
    bool feed(std::string_view bytes, std::vector<SseEvent>& events);
    // End of input. Unlike a browser, a last event whose blank line never came is still
    // delivered: servers often close right after "data: [DONE]\n".
    void finish(std::vector<SseEvent>& events);

    bool overflowed() const { return overflowed_; }
    // After an overflow: every byte of the event that passed the bound, as it came, and the
    // rest of the chunk that held its last byte.
    std::string take_unparsed() { return std::move(unparsed_); }

  private:
    bool append(std::string_view part, std::string_view rest_of_chunk);
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
    bool overflowed_ = false;
    std::string unparsed_;
};

}  // namespace llmgw::textstream
