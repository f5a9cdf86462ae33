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

// Events from the parser, and whether it overflowed.
std::pair<std::vector<SseEvent>, bool> run_parser(std::size_t max_line,
                                                  const std::vector<std::string_view>& chunks) {
    SseParser parser(max_line);
    std::vector<SseEvent> events;
    bool ok = true;
    for (const std::string_view chunk : chunks) ok = parser.feed(chunk, events) && ok;
    if (ok) parser.finish(events);
    FUZZ_CHECK(ok == !parser.overflowed());
    return {std::move(events), parser.overflowed()};
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
    options.max_line = (flags & 4) ? 8 + (flags >> 3) : SseParser::kDefaultMaxLine;

    const auto [events, overflowed] = run_parser(options.max_line, chunks);
    const auto [whole_events, whole_overflowed] = run_parser(options.max_line, whole);
    FUZZ_CHECK(overflowed == whole_overflowed);
    if (!overflowed) FUZZ_CHECK(same_events(events, whole_events));

    const Outcome chunked = run_text_stream(options, chunks);
    const Outcome at_once = run_text_stream(options, whole);
    if (options.mode == TextStream::Mode::raw) FUZZ_CHECK(chunked.out == std::string(body));
    FUZZ_CHECK(chunked.out == at_once.out);
    FUZZ_CHECK(chunked.format == at_once.format);
    FUZZ_CHECK(chunked.ended_early == at_once.ended_early);
    FUZZ_CHECK(chunked.notes == at_once.notes);  // a warning must not depend on the cuts
    return 0;
}
