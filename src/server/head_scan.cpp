#include "server/head_scan.hpp"

#include <cstring>

namespace llmgw::server {

HeadScanner::Verdict HeadScanner::verdict() const {
    if (state_ == State::end) return Verdict::end;
    if (state_ == State::obs_fold) return Verdict::obs_fold;
    return Verdict::need_more;
}

std::size_t HeadScanner::skip_empty_lines(std::string_view buffered) {
    std::size_t n = 0;
    while (buffered.size() - n >= 2 && buffered[n] == '\r' && buffered[n + 1] == '\n') n += 2;
    scanned_ += n;
    request_line_start_ = scanned_;
    return n;
}

HeadScanner::Step HeadScanner::scan(std::string_view piece) {
    const Step result = step(piece);
    scanned_ += result.used;
    return result;
}

HeadScanner::Step HeadScanner::step(std::string_view piece) {
    if (state_ == State::end || state_ == State::obs_fold) return {verdict(), 0};
    const char* const first = piece.data();
    const char* const last = first + piece.size();
    const char* p = first;
    const auto used = [&] { return static_cast<std::size_t>(p - first); };
    // The request line, noted where it ends (for 414): a test per piece, not one per line.
    if (state_ == State::request_line && p != last) {
        const auto* lf = static_cast<const char*>(std::memchr(p, '\n', piece.size()));
        if (lf == nullptr) return {Verdict::need_more, piece.size()};
        p = lf + 1;
        request_line_end_ = scanned_ + used();
        state_ = State::line_start;
    }
    while (p != last) {
        if (state_ == State::in_line) {
            // Most bytes are inside a line: let memchr skip to its end.
            const auto* lf =
                static_cast<const char*>(std::memchr(p, '\n', static_cast<std::size_t>(last - p)));
            if (lf == nullptr) break;
            p = lf + 1;
            state_ = State::line_start;
            continue;
        }
        const char c = *p++;
        if (c == '\n') {  // an empty line, "\n" or "\r\n": the head ends here
            state_ = State::end;
            return {Verdict::end, used()};
        }
        if (state_ == State::line_start && (c == ' ' || c == '\t')) {
            state_ = State::obs_fold;
            return {Verdict::obs_fold, used()};
        }
        // A CR at the start of a line may begin the empty line; anything else (a bare CR
        // included: Beast refuses it) is inside a field line.
        state_ = state_ == State::line_start && c == '\r' ? State::line_start_cr : State::in_line;
    }
    return {Verdict::need_more, piece.size()};
}

}  // namespace llmgw::server
