// The `llmgw call --text` extractor: the SSE parser, the JSON array reader and TextStream,
// fed the body in three chunks. Input layout: byte 0 picks the options, bytes 1 and 2 where
// the body is cut, the rest is the body. Each result is compared with the same body fed
// whole: chunking must not change what comes out. Text mode is also compared with raw mode:
// both judge an event stream of a known format alike.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "exact_buffer.hpp"
#include "fuzz_check.hpp"
#include "textstream/json_array_reader.hpp"
#include "textstream/sse_parser.hpp"
#include "textstream/text_stream.hpp"

using llmgw::test::ExactBuffer;
using namespace llmgw::textstream;

namespace {

struct Outcome {
    std::string out;
    Format format = Format::unknown;
    std::string cut;
    std::string notes;  // each note's text, one a line; an error's starts with '!'
};

Outcome run_text_stream(TextStream::Options options, const std::vector<std::string_view>& chunks) {
    TextStream stream(options);
    Outcome r;
    const auto take_notes = [&r, &stream] {
        for (const Note& note : stream.take_notes()) {
            r.notes += (note.error ? "!" : "") + note.text + "\n";
        }
    };
    for (const std::string_view chunk : chunks) {
        stream.feed(chunk, r.out);
        take_notes();
    }
    stream.finish(r.out);
    take_notes();
    FUZZ_CHECK(stream.ended_early() == !stream.cut_reason().empty());
    r.format = stream.format();
    r.cut = stream.cut_reason();
    return r;
}

bool same_events(const std::vector<SseEvent>& a, const std::vector<SseEvent>& b) {
    return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](const auto& x, const auto& y) {
        return x.type == y.type && x.data == y.data && x.id == y.id && x.overlong == y.overlong;
    });
}

// Whether the bytes before an event's first byte end as they must: nothing (or a byte order
// mark) before them, or a blank line.
bool starts_an_event(std::string_view before) {
    if (before.empty() || before == "\xEF\xBB\xBF") return true;
    if (before.ends_with("\r\n")) {
        before.remove_suffix(2);
    } else if (before.ends_with('\n') || before.ends_with('\r')) {
        before.remove_suffix(1);
    } else {
        return false;
    }
    return before.empty() || before == "\xEF\xBB\xBF" || before.ends_with('\n') ||
           before.ends_with('\r');
}

struct Parsed {
    std::vector<SseEvent> events;
    bool overflowed = false;
    std::string unparsed;  // after the first overflow: the bytes from that event on
};

Parsed run_parser(std::size_t max_event, const std::vector<std::string_view>& chunks) {
    SseParser parser(max_event);
    Parsed r;
    for (const std::string_view chunk : chunks) {
        const bool before = r.overflowed;
        if (before) r.unparsed.append(chunk);
        const bool ok = parser.feed(chunk, r.events);
        const std::string unparsed = parser.take_unparsed();
        FUZZ_CHECK(ok == unparsed.empty());
        if (!ok && !before) r.unparsed = unparsed;
        r.overflowed = r.overflowed || !ok;
    }
    parser.finish(r.events);
    FUZZ_CHECK(r.overflowed == parser.overflowed());
    return r;
}

struct ReadArray {
    std::vector<JsonElement> elements;
    JsonArrayReader::Shape shape = JsonArrayReader::Shape::undecided;
    bool closed = false;
    bool malformed = false;
    bool trailing = false;
    bool overflowed = false;
    std::string unparsed;  // after the first overflow: the bytes from that element's region on
};

ReadArray run_array_reader(std::size_t max_element, const std::vector<std::string_view>& chunks) {
    JsonArrayReader reader(max_element);
    ReadArray r;
    for (const std::string_view chunk : chunks) {
        const bool before = r.overflowed;
        if (before) r.unparsed.append(chunk);
        const bool ok = reader.feed(chunk, r.elements);
        if (!ok && !before) r.unparsed = reader.take_unparsed();
        r.overflowed = r.overflowed || !ok;
    }
    FUZZ_CHECK(r.overflowed == reader.overflowed());
    r.shape = reader.shape();
    r.closed = reader.closed();
    r.malformed = reader.malformed();
    r.trailing = reader.trailing_bytes();
    FUZZ_CHECK(!(r.closed && r.malformed));
    return r;
}

bool same_elements(const std::vector<JsonElement>& a, const std::vector<JsonElement>& b) {
    return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](const auto& x, const auto& y) {
        return x.text == y.text && x.overlong == y.overlong;
    });
}

void check_array_reader(std::size_t max_element, std::string_view body,
                        const std::vector<std::string_view>& chunks,
                        const std::vector<std::string_view>& whole) {
    const ReadArray cut = run_array_reader(max_element, chunks);
    const ReadArray at_once = run_array_reader(max_element, whole);
    FUZZ_CHECK(same_elements(cut.elements, at_once.elements));
    FUZZ_CHECK(cut.shape == at_once.shape && cut.closed == at_once.closed);
    FUZZ_CHECK(cut.malformed == at_once.malformed && cut.trailing == at_once.trailing);
    FUZZ_CHECK(cut.overflowed == at_once.overflowed);
    if (cut.overflowed) {
        FUZZ_CHECK(cut.unparsed == at_once.unparsed);
        FUZZ_CHECK(body.ends_with(cut.unparsed));
    }
    // Each element is a piece of the body, in order, within the bound, and never blank.
    std::size_t from = 0;
    for (const JsonElement& element : at_once.elements) {
        if (element.overlong) continue;
        FUZZ_CHECK(!element.text.empty() && element.text.size() <= max_element);
        FUZZ_CHECK(element.text.front() != ' ' && element.text.back() != ' ');
        const std::size_t at = body.find(element.text, from);
        FUZZ_CHECK(at != std::string_view::npos);
        from = at + element.text.size();
    }
    if (at_once.shape != JsonArrayReader::Shape::array) FUZZ_CHECK(at_once.elements.empty());
}

// Whether any event carries data that is not only whitespace (what TextStream reads).
bool has_answer_event(const std::vector<SseEvent>& events) {
    return std::any_of(events.begin(), events.end(), [](const SseEvent& e) {
        return e.overlong || e.data.find_first_not_of(" \t\r\n") != std::string::npos;
    });
}

// A line no event stream has (WHATWG HTML §9.2.6): not blank, not a comment, and not a field
// the format defines (data, event, id, retry). Lines end at CR LF, CR or LF.
bool has_foreign_line(std::string_view body) {
    if (body.starts_with("\xEF\xBB\xBF")) body.remove_prefix(3);
    std::size_t start = 0;
    for (std::size_t i = 0; i <= body.size(); ++i) {
        if (i < body.size() && body[i] != '\r' && body[i] != '\n') continue;
        const std::string_view line = body.substr(start, i - start);
        start = i + 1;
        if (line.empty() || line[0] == ':') continue;
        const std::string_view name = line.substr(0, line.find(':'));
        if (name != "data" && name != "event" && name != "id" && name != "retry") return true;
    }
    return false;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 3) return 0;
    const std::uint8_t flags = data[0];
    const std::string_view body(reinterpret_cast<const char*>(data + 3), size - 3);
    std::size_t cut1 = body.size() * data[1] / 255;
    std::size_t cut2 = body.size() * data[2] / 255;
    if (cut1 > cut2) std::swap(cut1, cut2);
    // Each chunk in a block of its exact size, so ASan sees reads past the end of any chunk.
    const ExactBuffer first(body.substr(0, cut1));
    const ExactBuffer second(body.substr(cut1, cut2 - cut1));
    const ExactBuffer third(body.substr(cut2));
    const std::vector<std::string_view> chunks{first.view(), second.view(), third.view()};
    const std::vector<std::string_view> whole{body};  // libFuzzer's buffer: exact-size too

    TextStream::Options options;
    options.mode = (flags & 1) ? TextStream::Mode::text : TextStream::Mode::raw;
    options.event_stream = (flags & 2) != 0;
    options.json_lines = !options.event_stream && (data[1] & 1) != 0;  // Ollama's lines
    // A small bound half of the time, so the overflow path is reached with short inputs.
    options.max_event = (flags & 4) ? 8 + (flags >> 3) : SseParser::kDefaultMaxEvent;

    const Parsed parsed = run_parser(options.max_event, chunks);
    const Parsed parsed_whole = run_parser(options.max_event, whole);
    FUZZ_CHECK(parsed.overflowed == parsed_whole.overflowed);
    FUZZ_CHECK(same_events(parsed.events, parsed_whole.events));
    if (parsed.overflowed) {
        // The bytes not parsed are the body from a line's start on, whatever the cuts.
        FUZZ_CHECK(parsed.unparsed == parsed_whole.unparsed);
        FUZZ_CHECK(body.ends_with(parsed.unparsed));
        FUZZ_CHECK(starts_an_event(body.substr(0, body.size() - parsed.unparsed.size())));
    }

    if (!options.event_stream) check_array_reader(options.max_event, body, chunks, whole);

    const Outcome chunked = run_text_stream(options, chunks);
    const Outcome at_once = run_text_stream(options, whole);
    if (options.mode == TextStream::Mode::raw) FUZZ_CHECK(chunked.out == std::string(body));
    FUZZ_CHECK(chunked.out == at_once.out);
    FUZZ_CHECK(chunked.format == at_once.format);
    FUZZ_CHECK(chunked.cut == at_once.cut);
    FUZZ_CHECK(chunked.notes == at_once.notes);  // a note must not depend on the cuts
    if (options.event_stream && options.mode == TextStream::Mode::text) {
        // Text mode finds the format and judges the end as raw mode does.
        TextStream::Options raw_options = options;
        raw_options.mode = TextStream::Mode::raw;
        const Outcome raw = run_text_stream(raw_options, whole);
        if (raw.format != Format::unknown) {
            FUZZ_CHECK(at_once.format == raw.format);
            FUZZ_CHECK(at_once.cut == raw.cut);
        }
        // A stream without any event prints nothing and is cut, unless it outgrew the bound
        // that decides a format; a body with a line no event stream has is printed as it is.
        if (!has_answer_event(parsed_whole.events) && body.size() <= options.max_event) {
            if (has_foreign_line(body)) {
                FUZZ_CHECK(at_once.out == std::string(body));
                FUZZ_CHECK(at_once.cut.empty());
            } else {
                FUZZ_CHECK(at_once.out.empty());
                FUZZ_CHECK(!at_once.cut.empty());
            }
        }
    }
    // Text that gave up at an over-long event prints that whole event and the rest as they are.
    if (options.mode == TextStream::Mode::text && options.event_stream && parsed.overflowed &&
        at_once.format != Format::unknown) {
        FUZZ_CHECK(std::string_view(at_once.out).ends_with(parsed_whole.unparsed));
    }
    return 0;
}
