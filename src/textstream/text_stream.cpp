#include "textstream/text_stream.hpp"

#include <utility>

namespace llmgw::textstream {

namespace {

using nlohmann::json;

}  // namespace

TextStream::TextStream(Options options) : options_(options), parser_(options.max_event) {
    raw_ = options_.mode == Mode::raw;
}

void TextStream::feed(std::string_view chunk, std::string& out) {
    // "No event of a known format in the first max_event bytes" is decided at that byte,
    // wherever the chunks are cut: a chunk that crosses it is fed in two parts. (Decided at
    // the end of a chunk instead, an event completed a few bytes later in the same chunk
    // counted in one cut and not in another.)
    if (!raw_ && options_.event_stream && tracking_ && format_ == Format::unknown) {
        const std::size_t decide_at = options_.max_event + 1;
        if (held_.size() < decide_at && chunk.size() > decide_at - held_.size()) {
            const std::size_t first = decide_at - held_.size();
            feed_part(chunk.substr(0, first), out);
            feed_part(chunk.substr(first), out);
            return;
        }
    }
    feed_part(chunk, out);
}

void TextStream::feed_part(std::string_view chunk, std::string& out) {
    if (raw_) out.append(chunk);
    if (!options_.event_stream) {
        if (!raw_) held_.append(chunk);  // a JSON body is read whole
        return;
    }
    if (!tracking_) return;
    // Text mode keeps the bytes until the format is known, in case it never is.
    if (!raw_ && format_ == Format::unknown) held_.append(chunk);
    const bool ok = parser_.feed(chunk, events_);
    handle_events(out);
    if (ok) {
        if (!raw_ && format_ == Format::unknown && held_.size() > options_.max_event) {
            fall_back_to_raw("no event of a known format in the first " +
                                 std::to_string(options_.max_event) + " bytes",
                             out);
        }
        return;
    }
    tracking_ = false;
    if (raw_) return;
    const std::string unparsed = parser_.take_unparsed();
    const bool known = format_ != Format::unknown;
    fall_back_to_raw("an event is longer than " + std::to_string(options_.max_event) + " bytes",
                     out);
    // Once text was printed the held bytes are gone; the long event and what follows are not.
    if (known) out += unparsed;
}

void TextStream::finish(std::string& out) {
    if (finished_) return;
    finished_ = true;
    if (options_.event_stream) {
        if (tracking_) {
            parser_.finish(events_);
            handle_events(out);
        }
        if (!raw_ && format_ == Format::unknown) {
            if (!held_.empty()) fall_back_to_raw("no event of a known format", out);
            return;
        }
    } else if (!raw_) {
        const json body = parse_json(held_);
        format_ = body.is_discarded() ? Format::unknown : detect_format(body);
        if (format_ == Format::unknown) {
            if (!held_.empty()) fall_back_to_raw("the response is not of a known format", out);
            return;
        }
        emit_text(response_text(format_, body), out);
    }
    if (!raw_ && last_char_ != '\n') out += '\n';
}

bool TextStream::ended_early() const {
    return options_.event_stream && tracking_ && format_ != Format::unknown &&
           !end_marker(format_).empty() && !ended_;
}

void TextStream::handle_events(std::string& out) {
    for (const SseEvent& event : events_) handle_event(event, out);
    events_.clear();
}

void TextStream::handle_event(const SseEvent& event, std::string& out) {
    const json data = parse_json(event.data);
    const json* parsed = data.is_discarded() ? nullptr : &data;
    if (format_ == Format::unknown) {
        if (undetectable_) return;
        if (parsed == nullptr || (format_ = detect_format(data)) == Format::unknown) {
            // The first event with data decides: a stream of ours starts with a known one.
            undetectable_ = true;
            if (!raw_) fall_back_to_raw("the event stream is not of a known format", out);
            return;
        }
        held_.clear();
        held_.shrink_to_fit();
    }
    if (is_end_event(format_, event.type, event.data, parsed)) ended_ = true;
    // Raw or text, an error the stream reports is said (the exit status tells it too).
    if (parsed != nullptr) {
        if (auto error = event_error(event.type, data)) {
            notes_.push_back({true, "the stream reported an error: " + *error});
        }
        if (!raw_) emit_text(event_text(format_, event.type, data), out);
    } else if (event.type == "error") {  // an error in plain words is an error too
        notes_.push_back({true, "the stream reported an error: " + event.data});
    }
}

void TextStream::fall_back_to_raw(std::string_view why, std::string& out) {
    notes_.push_back({false, "--text: " + std::string(why) + "; printing the body as it is"});
    raw_ = true;
    if (format_ == Format::unknown) out += held_;
    held_.clear();
    held_.shrink_to_fit();
}

void TextStream::emit_text(std::string_view text, std::string& out) {
    if (text.empty()) return;
    out.append(text);
    last_char_ = text.back();
}

}  // namespace llmgw::textstream
