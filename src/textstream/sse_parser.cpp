#include "textstream/sse_parser.hpp"

namespace llmgw::textstream {

namespace {
constexpr std::string_view kByteOrderMark = "\xEF\xBB\xBF";
}

bool SseParser::feed(std::string_view bytes, std::vector<SseEvent>& events) {
    bool first_overflow = true;  // no event passed the bound in this call yet
    std::size_t i = 0;
    if (after_cr_ && !bytes.empty()) {
        after_cr_ = false;
        if (bytes[0] == '\n') {  // the LF of a CRLF that was split between chunks
            i = 1;
            // It belongs to the line its CR ended; a blank line's event is gone already.
            if (!event_bytes_.empty()) {
                event_bytes_ += '\n';
                line_start_ = event_bytes_.size();
            }
        }
    }
    while (i < bytes.size()) {
        const std::size_t end = bytes.find_first_of("\r\n", i);
        const std::size_t line_end = end == std::string_view::npos ? bytes.size() : end;
        append(bytes.substr(i, line_end - i), bytes.substr(i), first_overflow, events);
        if (end == std::string_view::npos) break;
        std::size_t next = end + 1;
        if (bytes[end] == '\r') {
            if (next == bytes.size()) {
                after_cr_ = true;
            } else if (bytes[next] == '\n') {
                ++next;
            }
        }
        end_line(bytes.substr(end, next - end), events);
        i = next;
    }
    return first_overflow;
}

void SseParser::finish(std::vector<SseEvent>& events) {
    if (skipping_) return;  // the over-long event was delivered when it passed the bound
    if (line_start_ < event_bytes_.size()) end_line({}, events);
    dispatch(events);
}

void SseParser::append(std::string_view part, std::string_view rest_of_chunk, bool& first_overflow,
                       std::vector<SseEvent>& events) {
    if (part.empty()) return;
    if (skipping_) {
        line_empty_ = false;
        return;
    }
    if (event_bytes_.size() + part.size() <= max_event_) {
        event_bytes_.append(part);
        return;
    }
    overflowed_ = true;
    if (first_overflow) {
        first_overflow = false;
        unparsed_ = std::move(event_bytes_);
        unparsed_.append(rest_of_chunk);
    }
    // Delivered now, so that it comes in order with the events before it and after it.
    events.push_back(SseEvent{std::move(pending_.type), {}, std::move(pending_.id), true});
    pending_ = SseEvent{};
    has_data_ = false;
    event_bytes_.clear();
    line_start_ = 0;
    first_line_ = false;
    skipping_ = true;
    line_empty_ = false;
}

void SseParser::end_line(std::string_view terminator, std::vector<SseEvent>& events) {
    if (skipping_) {
        if (line_empty_) skipping_ = false;  // the blank line that ends the over-long event
        line_empty_ = true;
        return;
    }
    const std::size_t line_end = event_bytes_.size();
    event_bytes_.append(terminator);
    const std::size_t next_line = event_bytes_.size();
    take_line(std::string_view(event_bytes_).substr(line_start_, line_end - line_start_), events);
    // A blank line dispatched the event and cleared its bytes.
    line_start_ = event_bytes_.empty() ? 0 : next_line;
}

void SseParser::take_line(std::string_view line, std::vector<SseEvent>& events) {
    if (first_line_) {
        first_line_ = false;
        if (line.starts_with(kByteOrderMark)) line.remove_prefix(kByteOrderMark.size());
    }
    if (line.empty()) {
        dispatch(events);
    } else if (line.front() != ':') {  // a comment otherwise (keep-alives look like ": ping")
        const std::size_t colon = line.find(':');
        const std::string_view field = line.substr(0, colon);
        std::string_view value;
        if (colon != std::string_view::npos) {
            value = line.substr(colon + 1);
            if (value.starts_with(' ')) value.remove_prefix(1);
        }
        if (field == "data") {
            if (has_data_) pending_.data += '\n';
            pending_.data.append(value);
            has_data_ = true;
        } else if (field == "event") {
            pending_.type.assign(value);
        } else if (field == "id") {
            if (value.find('\0') == std::string_view::npos) pending_.id.assign(value);
        }
        // "retry" and unknown fields do not concern a reader that never reconnects.
    }
}

void SseParser::dispatch(std::vector<SseEvent>& events) {
    // An event without data is no event (WHATWG: the data buffer is empty).
    if (has_data_) events.push_back(std::move(pending_));
    pending_ = SseEvent{};
    has_data_ = false;
    event_bytes_.clear();
    line_start_ = 0;
}

}  // namespace llmgw::textstream
