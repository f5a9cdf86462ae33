#include "textstream/text_stream.hpp"

#include <utility>

#include "util/strings.hpp"

namespace llmgw::textstream {

namespace {

using nlohmann::json;

// Whether `body` has a line that no event stream has: not blank, not a comment, not one of
// the fields data, event, id and retry (an HTML page or a JSON error sent as an event stream).
bool has_foreign_line(std::string_view body) {
    if (body.starts_with("\xEF\xBB\xBF")) body.remove_prefix(3);
    while (!body.empty()) {
        const std::size_t end = body.find_first_of("\r\n");
        const std::string_view line = body.substr(0, end);
        body.remove_prefix(end == std::string_view::npos ? body.size() : end + 1);
        if (line.empty() || line.front() == ':') continue;
        const std::string_view field = line.substr(0, line.find(':'));
        if (field != "data" && field != "event" && field != "id" && field != "retry") return true;
    }
    return false;
}

// An over-long event's data is gone: it may have held the end marker unless its event type
// names it (Responses and Anthropic streams name every event).
bool end_marker_may_hide_in(Format format, const SseEvent& event) {
    return event.type.empty() || format == Format::openai || format == Format::gemini;
}

}  // namespace

TextStream::TextStream(Options options)
    : options_(options), parser_(options.max_event), array_(options.max_event) {
    raw_ = options_.mode == Mode::raw;
}

void TextStream::feed(std::string_view chunk, std::string& out) {
    // "No event (or array element) of a known format in the first max_event bytes" is decided
    // at that byte, wherever the chunks are cut: a chunk that crosses it is fed in two parts.
    // (Decided at the end of a chunk instead, an event completed a few bytes later in the same
    // chunk counted in one cut and not in another.)
    if (!raw_ && format_ == Format::unknown &&
        (options_.event_stream || options_.json_lines || reads_array())) {
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
    // Text mode keeps the bytes until the format is known, in case it never is.
    if (!raw_ && format_ == Format::unknown) held_.append(chunk);
    if (options_.event_stream) {
        if (!parser_.feed(chunk, events_)) unparsed_ = parser_.take_unparsed();
        handle_events(out);
        give_up_past_bound("event", out);
    } else if (options_.json_lines) {
        read_lines(chunk, out);
        give_up_past_bound("line", out);
    } else if (reads_array()) {
        if (!array_.feed(chunk, elements_)) unparsed_ = array_.take_unparsed();
        handle_elements(out);
        // Bounded as an event stream is: elements that tell no format (errors) are not held on.
        if (reads_array()) give_up_past_bound("element", out);
    }
}

// No `unit` (event, line, element) of a known format in the first max_event bytes: the body is
// printed as it is, not held on.
void TextStream::give_up_past_bound(std::string_view unit, std::string& out) {
    if (raw_ || format_ != Format::unknown || held_.size() <= options_.max_event) return;
    fall_back_to_raw("no " + std::string(unit) + " of a known format in the first " +
                         std::to_string(options_.max_event) + " bytes",
                     out);
}

bool TextStream::reads_array() const {
    return options_.mode == Mode::text && !options_.event_stream && !options_.json_lines &&
           array_.shape() != JsonArrayReader::Shape::other;
}

// One JSON value a line (Ollama's stream), each read as an event's data is; a line over the
// bound is passed over, and text mode prints the body as it is from that line on.
void TextStream::read_lines(std::string_view chunk, std::string& out) {
    while (!chunk.empty()) {
        const std::size_t end = chunk.find('\n');
        const std::string_view piece = chunk.substr(0, end);
        if (!skipping_line_ && line_.size() + piece.size() > options_.max_event) {
            if (!raw_) {
                unparsed_ = line_;
                unparsed_.append(chunk);
                fall_back_to_raw(
                    "a line is longer than " + std::to_string(options_.max_event) + " bytes", out);
            }
            line_.clear();
            skipping_line_ = true;
            unverified_ = format_ != Format::unknown;  // it may have been the last, "done": true
        } else if (!skipping_line_) {
            line_.append(piece);
        }
        if (end == std::string_view::npos) return;
        chunk.remove_prefix(end + 1);
        if (skipping_line_) {
            skipping_line_ = false;
        } else {
            handle_line(out);
        }
    }
}

void TextStream::handle_line(std::string& out) {
    if (!str::trim(line_).empty()) handle_data({}, line_, out);
    line_.clear();  // its room is kept for the next line
}

void TextStream::finish(std::string& out, Transfer transfer) {
    if (finished_) return;
    finished_ = true;
    if (options_.event_stream) {
        // A transfer that failed left its last event unfinished, cut where the bytes stopped:
        // not an event (its JSON would look broken), and the failure is said already.
        if (transfer == Transfer::whole) parser_.finish(events_);
        handle_events(out);
        note_unverified_end("event");
        // A body that is no event stream at all is printed as it is, as any of an unknown
        // format. Else no answer event: nothing to print (an error said why, or the stream held
        // only comments and blank lines).
        if (!raw_ && format_ == Format::unknown && !saw_event_ && has_foreign_line(held_)) {
            fall_back_to_raw("the response is not an event stream, though its Content-Type says so",
                             out);
        }
        if (!raw_ && format_ == Format::unknown) return;
    } else if (options_.json_lines) {
        // The last line, without its line end; after a failed transfer only when it is whole
        // JSON (the cut may have come right before its line end), not a line it cut.
        if (!skipping_line_ && (transfer == Transfer::whole || json::accept(line_))) {
            handle_line(out);
        }
        note_unverified_end("line");
        if (!raw_ && format_ == Format::unknown) {
            if (!error_reported_ && !held_.empty()) {
                fall_back_to_raw("no line of a known format", out);
            }
            return;
        }
    } else if (array_.shape() == JsonArrayReader::Shape::array) {
        if (array_.trailing_bytes() && !raw_) {
            notes_.push_back({false, "--text: bytes after the JSON array are left out"});
        }
        if (!raw_ && format_ == Format::unknown) {
            if (!error_reported_) fall_back_to_raw("no element of a known format", out);
            return;
        }
    } else if (!raw_) {
        finish_whole_body(out);
    }
    const bool text_or_whole_answer =
        text_printed_ || (!error_reported_ && transfer == Transfer::whole);
    if (!raw_ && format_ != Format::unknown && last_char_ != '\n' && text_or_whole_answer) {
        out += '\n';
    }
}

// The last `unit` (event, line) was over the bound: whether it was the end marker is unknown.
void TextStream::note_unverified_end(std::string_view unit) {
    if (format_ == Format::unknown || ended_ || !unverified_) return;
    notes_.push_back({false, "cannot tell whether the stream reached its end marker (" +
                                 std::string(end_marker(format_)) + "): its last " +
                                 std::string(unit) + " is longer than " +
                                 std::to_string(options_.max_event) + " bytes"});
}

void TextStream::finish_whole_body(std::string& out) {
    const json body = parse_json(held_);
    format_ = body.is_discarded() ? Format::unknown : detect_format(body);
    if (format_ == Format::unknown) {
        if (!held_.empty()) fall_back_to_raw("the response is not of a known format", out);
        return;
    }
    if (format_ == Format::gemini) {
        if (auto blocked = blocked_prompt(body)) report_error(std::move(*blocked));
    }
    emit_text(response_text(format_, body), out);
}

std::string TextStream::cut_reason() const {
    if (options_.event_stream || options_.json_lines) {
        if (format_ == Format::unknown) {
            // Printed raw, with a warning, it is an answer of an unknown format like any other.
            if (options_.event_stream && options_.mode == Mode::text && !saw_event_ && !raw_) {
                return "the event stream ended before its end marker: it had no events";
            }
            return {};
        }
        if (ended_ || unverified_ || end_marker(format_).empty()) return {};
        return "the " + std::string(to_string(format_)) + " stream ended before its end marker (" +
               std::string(end_marker(format_)) + ")";
    }
    if (array_.shape() != JsonArrayReader::Shape::array || array_.closed() || array_.malformed()) {
        return {};
    }
    if (format_ == Format::unknown) return "the JSON array ended before its closing ]";
    return "the " + std::string(to_string(format_)) +
           " stream ended before its end marker (the ] that closes its JSON array)";
}

void TextStream::handle_events(std::string& out) {
    for (const SseEvent& event : events_) {
        if (event.overlong) {
            handle_overlong_event(event, out);
        } else {
            handle_data(event.type, event.data, out);
        }
    }
    events_.clear();
    unparsed_.clear();
}

void TextStream::handle_elements(std::string& out) {
    for (const JsonElement& element : elements_) {
        if (!element.overlong) {
            handle_data({}, element.text, out);
        } else if (!raw_) {
            fall_back_to_raw("an element of the JSON array is longer than " +
                                 std::to_string(options_.max_event) + " bytes",
                             out);
        }
    }
    elements_.clear();
    unparsed_.clear();
    if (array_.malformed() && !malformed_reported_) {
        malformed_reported_ = true;
        if (format_ == Format::unknown) {
            if (!raw_) fall_back_to_raw("the response is not a well-formed JSON array", out);
        } else {
            report_error("the response is not a well-formed JSON array; the rest is left out");
        }
    }
}

void TextStream::handle_overlong_event(const SseEvent& event, std::string& out) {
    if (!raw_) {
        fall_back_to_raw("an event is longer than " + std::to_string(options_.max_event) + " bytes",
                         out);
    }
    // Whatever the format (known, not yet known, none), as handle_data does.
    if (event.type == "error") {
        report_error("the stream reported an error in an event longer than " +
                     std::to_string(options_.max_event) + " bytes");
    }
    // Its data is gone, but not its type: the end marker is looked for in what follows.
    if (undetectable_ || format_ == Format::unknown) return;
    saw_event_ = true;
    if (is_end_event(format_, event.type, {}, nullptr)) ended_ = true;
    unverified_ = !ended_ && end_marker_may_hide_in(format_, event);
}

void TextStream::handle_data(std::string_view type, std::string_view data, std::string& out) {
    const bool blank = str::trim(data).empty();
    if (blank && type != "error") return;  // "data:" alone carries nothing
    const json value = blank ? json(json::value_t::discarded) : parse_json(data);
    const json* parsed = value.is_discarded() ? nullptr : &value;
    std::optional<std::string> error;
    if (parsed != nullptr) {
        error = event_error(type, value);
    } else if (type == "error") {  // an error in plain words (or none) is an error too
        error = blank ? std::string("an error event without data") : std::string(data);
    }
    // Raw or text, an error the stream reports is said (the exit status tells it too), in a
    // stream of no known format as well.
    if (error) report_error("the stream reported an error: " + *error);
    if (undetectable_ || blank) return;  // an error without data tells no format or end
    saw_event_ = true;
    unverified_ = false;
    const bool done = is_done_marker(data);
    if (format_ == Format::unknown) {
        if (error) return;  // an error tells no format: the next event decides
        format_ = parsed != nullptr ? detect_format(value)
                  : done            ? Format::openai
                                    : Format::unknown;
        // A JSON array of answers is Gemini's way only, JSON lines Ollama's.
        const Format only = options_.json_lines ? Format::ollama : Format::gemini;
        if (!options_.event_stream && format_ != only) format_ = Format::unknown;
        if (format_ == Format::unknown) {
            // The first answer event decides: a stream of ours starts with a known one.
            undetectable_ = true;
            if (!raw_) fall_back_to_raw("the event stream is not of a known format", out);
            return;
        }
        held_.clear();
        held_.shrink_to_fit();
    }
    if (ended_) {
        // As the SDKs read a stream, it ends at its end marker: text after it is not printed.
        if (!raw_ && !text_after_end_noted_ && parsed != nullptr &&
            !event_text(format_, type, value).empty()) {
            text_after_end_noted_ = true;
            notes_.push_back({false, "--text: text after the end marker (" +
                                         std::string(end_marker(format_)) + ") is left out"});
        }
        return;
    }
    if (is_end_event(format_, type, data, parsed)) ended_ = true;
    if (parsed == nullptr) {
        if (!raw_ && !error && !done) {
            report_error("--text: an event of the " + std::string(to_string(format_)) +
                         " stream is not JSON; its text is lost");
        }
        return;
    }
    // With --text, where no text at all would come out otherwise (the raw JSON says it).
    if (format_ == Format::gemini && options_.mode == Mode::text) {
        if (auto blocked = blocked_prompt(value)) report_error(std::move(*blocked));
    }
    if (!raw_) emit_text(event_text(format_, type, value), out);
}

void TextStream::report_error(std::string text) {
    notes_.push_back({true, std::move(text)});
    error_reported_ = true;
}

void TextStream::fall_back_to_raw(std::string_view why, std::string& out) {
    notes_.push_back({false, "--text: " + std::string(why) + "; printing the body as it is"});
    raw_ = true;
    if (format_ == Format::unknown) {
        out += held_;  // every byte of the body so far
    } else {
        // The text printed, then the over-long event and what follows, on a line of their own.
        if (text_printed_ && last_char_ != '\n') out += '\n';
        out += unparsed_;
    }
    held_.clear();
    held_.shrink_to_fit();
    unparsed_.clear();
}

void TextStream::emit_text(std::string_view text, std::string& out) {
    if (text.empty()) return;
    out.append(text);
    text_printed_ = true;
    last_char_ = text.back();
}

}  // namespace llmgw::textstream
