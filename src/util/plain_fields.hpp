// The one-pass reading of a plain HTTP/1.1 head, shared by the request pass (server) and the
// response pass (upstream): field lines of a token, ':', optional whitespace, a value of
// printable ASCII, spaces and tabs, optional whitespace, CRLF; then the empty line. Anything
// else declines, and the caller leaves the bytes to Beast's parser.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

#include "util/headers.hpp"
#include "util/strings.hpp"

namespace llmgw::plain {

// Heads longer than this go to Beast, which applies the limits (16 KiB in, 64 KiB upstream).
inline constexpr std::size_t kHeadMax = 8 * 1024;

// The first byte from p that is not SP or visible ASCII (0x20-0x7e), or end; a word at a time.
const char* skip_printable(const char* p, const char* end);

// The first byte from p that is not SP, tab or visible ASCII: the text of a value or a reason.
inline const char* skip_field_text(const char* p, const char* end) {
    p = skip_printable(p, end);
    while (p < end && *p == '\t') p = skip_printable(p + 1, end);
    return p;
}

inline const char* skip_token(const char* p, const char* end) {
    while (p < end && str::is_token_char(*p)) ++p;
    return p;
}

// 1 to 18 digits and nothing else: no overflow, no sign, no list ("5, 5" is Beast's to read).
std::optional<std::uint64_t> parse_length(std::string_view value);

// How a plain head frames its message, from its fields so far.
struct Framing {
    bool keep_alive = true;      // no "Connection: close"
    bool has_length = false;
    std::uint64_t length = 0;    // Content-Length, when has_length
};

// Notes what a field means for framing, in requests and answers alike. False on a field the
// plain passes leave to Beast: Upgrade, Proxy-Connection, Transfer-Encoding, a Connection other
// than keep-alive or close, a second Content-Length or one that is not plain digits.
bool note_framing_field(std::string_view name, std::string_view value, Framing& framing);

// Reads the field lines from p through the empty line into `into`, calling
// on_field(name, value) -> bool first for each (false declines). Returns the byte after the
// empty line, or nullptr to decline. A line that begins with SP or HTAB (obs-fold) has no
// field name, so it declines too.
template <class OnField>
const char* read_fields(const char* p, const char* end, Headers& into, OnField&& on_field) {
    const auto is_ows = [](char c) { return c == ' ' || c == '\t'; };
    for (;;) {
        if (end - p < 2) return nullptr;
        if (p[0] == '\r' && p[1] == '\n') return p + 2;
        const char* start = p;
        p = skip_token(p, end);
        if (p == start || p == end || *p != ':') return nullptr;
        const std::string_view name(start, static_cast<std::size_t>(p - start));
        ++p;
        while (p < end && is_ows(*p)) ++p;
        start = p;
        p = skip_field_text(p, end);
        const char* last = p;  // trailing whitespace is not part of the value
        while (last > start && is_ows(last[-1])) --last;
        if (end - p < 2 || p[0] != '\r' || p[1] != '\n') return nullptr;
        p += 2;
        const std::string_view value(start, static_cast<std::size_t>(last - start));
        if (!on_field(name, value)) return nullptr;
        into.add(name, value);
    }
}

}  // namespace llmgw::plain
