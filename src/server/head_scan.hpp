// Finds the end of a request head and any obs-fold line in it (RFC 9112 §5.2), over bytes that
// arrive in pieces. Beast unfolds a continuation line silently; a front proxy that does not
// reads different headers (e.g. `Transfer-Encoding:\r\n chunked`), so the session refuses one.
// It also notes where the request line ends: a head over the limit in it gets 414, not 431.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace llmgw::server {

class HeadScanner {
  public:
    enum class Verdict : std::uint8_t {
        need_more,  // no empty line yet: the head goes on in the next piece
        end,        // the empty line that ends the head was found
        obs_fold,   // a line after the first one starts with SP or HTAB
    };
    struct Step {
        Verdict verdict;
        // Bytes of this piece that were scanned: through the empty line's LF (end), through
        // the SP or HTAB (obs_fold), or the whole piece (need_more).
        std::size_t used;
    };

    // Scans the next piece of the stream, each byte once. Lines end at LF with an optional CR
    // before it; the first line is never a continuation. Once the verdict is end or obs_fold,
    // later calls scan nothing and return it again with used = 0.
    Step scan(std::string_view piece);
    Verdict verdict() const;
    // Before the request line: the empty lines (CRLF) at the start of `buffered`, which a
    // server ignores (RFC 9112 §2.2). They count as scanned, so the head limit bounds them; a
    // bare LF is none (Beast refuses it, as in the head). Returns how many bytes to drop; call
    // it only before the first byte of the request line was scanned.
    std::size_t skip_empty_lines(std::string_view buffered);
    // Bytes of the head scanned so far: its whole size, empty line included, once the
    // verdict is end (and the empty lines before it skipped).
    std::size_t scanned() const { return scanned_; }
    // Once scanned() > limit: whether the limit passed inside the request line (its line end
    // included), not in the empty lines before it nor in the fields after it.
    bool passed_in_request_line(std::size_t limit) const {
        return request_line_start_ <= limit &&
               (request_line_end_ == 0 || request_line_end_ > limit);
    }

  private:
    Step step(std::string_view piece);

    enum class State : std::uint8_t {
        request_line,
        in_line,
        line_start,
        line_start_cr,
        end,
        obs_fold
    };
    State state_ = State::request_line;
    std::size_t scanned_ = 0;
    std::size_t request_line_start_ = 0;  // the empty lines skipped before it
    std::size_t request_line_end_ = 0;    // scanned() through its LF; 0 until then
};

}  // namespace llmgw::server
