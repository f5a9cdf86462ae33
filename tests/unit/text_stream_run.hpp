// Runs a body through a TextStream, whole or in pieces, for the textstream unit tests.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "textstream/text_stream.hpp"

namespace llmgw::test {

struct TextStreamRun {
    std::string out;
    textstream::Format format = textstream::Format::unknown;
    std::string cut;  // cut_reason(): empty when the body is whole (or cannot be told)
    bool ended_early = false;
    int warnings = 0;
    int errors = 0;
    std::string notes;  // every note's text, one a line
};

// Feeds `body` in pieces of `piece` bytes (0: all at once) and finishes (`transfer`: how the
// body's transfer ended).
inline TextStreamRun run_text_stream(
    std::string_view body, textstream::TextStream::Mode mode, bool event_stream,
    std::size_t piece = 0, std::size_t max_event = 1 << 20, bool json_lines = false,
    textstream::TextStream::Transfer transfer = textstream::TextStream::Transfer::whole) {
    textstream::TextStream stream({mode, event_stream, max_event, json_lines});
    TextStreamRun r;
    const auto count = [&r, &stream] {
        for (const auto& note : stream.take_notes()) {
            ++(note.error ? r.errors : r.warnings);
            r.notes += note.text + "\n";
        }
    };
    if (piece == 0) piece = body.size() + 1;
    for (std::size_t i = 0; i < body.size(); i += piece) {
        stream.feed(body.substr(i, piece), r.out);
        count();
    }
    stream.finish(r.out, transfer);
    count();
    r.format = stream.format();
    r.cut = stream.cut_reason();
    r.ended_early = !r.cut.empty();
    return r;
}

}  // namespace llmgw::test
