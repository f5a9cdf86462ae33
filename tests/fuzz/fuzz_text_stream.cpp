// The `llmgw call --text` extractor: the SSE parser and TextStream, fed the body in three
// chunks. Input layout: byte 0 picks the options, bytes 1 and 2 where the body is cut, the
// rest is the body. Each result is compared with the same body fed whole: chunking must not
// change what comes out.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "exact_buffer.hpp"
#include "fuzz_check.hpp"
#include "textstream/sse_parser.hpp"
#include "textstream/text_stream.hpp"

using llmgw::test::ExactBuffer;
using namespace llmgw::textstream;

namespace {

struct Outcome {
    std::string out;
    Format format = Format::unknown;
    bool ended_early = false;
    std::size_t notes = 0;
};

Outcome run_text_stream(TextStream::Options options, const std::vector<std::string_view>& chunks) {
    TextStream stream(options);
    Outcome r;
    for (const std::string_view chunk : chunks) {
        stream.feed(chunk, r.out);
        r.notes += stream.take_notes().size();
    }
    stream.finish(r.out);
    r.notes += stream.take_notes().size();
    r.format = stream.format();
    r.ended_early = stream.ended_early();
    return r;
}

bool same_events(const std::vector<SseEvent>& a, const std::vector<SseEvent>& b) {
    return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](const auto& x, const auto& y) {
        return x.type == y.type && x.data == y.data && x.id == y.id;
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
    std::string unparsed;  // after an overflow: the bytes not parsed, to the end of the body
};

Parsed run_parser(std::size_t max_event, const std::vector<std::string_view>& chunks) {
    SseParser parser(max_event);
    Parsed r;
    bool ok = true;
    for (const std::string_view chunk : chunks) {
        if (!ok) {
            r.unparsed.append(chunk);
            continue;
        }
        ok = parser.feed(chunk, r.events);
        if (!ok) r.unparsed = parser.take_unparsed();
    }
    if (ok) parser.finish(r.events);
    FUZZ_CHECK(ok == !parser.overflowed());
    r.overflowed = parser.overflowed();
    return r;
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
    // A small bound half of the time, so the overflow path is reached with short inputs.
    options.max_event = (flags & 4) ? 8 + (flags >> 3) : SseParser::kDefaultMaxEvent;

    const Parsed parsed = run_parser(options.max_event, chunks);
    const Parsed parsed_whole = run_parser(options.max_event, whole);
    FUZZ_CHECK(parsed.overflowed == parsed_whole.overflowed);
    if (!parsed.overflowed) FUZZ_CHECK(same_events(parsed.events, parsed_whole.events));
    if (parsed.overflowed) {
        // The bytes not parsed are the body from a line's start on, whatever the cuts.
        FUZZ_CHECK(parsed.unparsed == parsed_whole.unparsed);
        FUZZ_CHECK(body.ends_with(parsed.unparsed));
        FUZZ_CHECK(starts_an_event(body.substr(0, body.size() - parsed.unparsed.size())));
    }

    const Outcome chunked = run_text_stream(options, chunks);
    const Outcome at_once = run_text_stream(options, whole);
    if (options.mode == TextStream::Mode::raw) FUZZ_CHECK(chunked.out == std::string(body));
    FUZZ_CHECK(chunked.out == at_once.out);
    FUZZ_CHECK(chunked.format == at_once.format);
    FUZZ_CHECK(chunked.ended_early == at_once.ended_early);
    FUZZ_CHECK(chunked.notes == at_once.notes);  // a warning must not depend on the cuts
    // Text that gave up at an over-long event prints that whole event and the rest as they are.
    if (options.mode == TextStream::Mode::text && options.event_stream && parsed.overflowed &&
        at_once.format != Format::unknown) {
        FUZZ_CHECK(std::string_view(at_once.out).ends_with(parsed_whole.unparsed));
    }
    return 0;
}
