// Small string helpers shared by every layer. All take string_view and never allocate
// unless they return a std::string.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "util/swar.hpp"

namespace llmgw::str {

// Inline: header names are compared many times per request.
inline char ascii_lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c; }
// Eight bytes with 'A'-'Z' made 'a'-'z', the rest as they were. On the low seven bits of each
// byte (so no sum carries into the next byte), adding 0x80 - 'A' sets the high bit of those at
// or above 'A', adding 0x80 - 'Z' - 1 of those above 'Z'; bytes with the high bit set are no
// letters. The letters' high bits, moved to 0x20, are added in.
inline std::uint64_t ascii_lower8(std::uint64_t v) {
    using swar::kEveryByte;
    using swar::kHighBits;
    const std::uint64_t low7 = v & ~kHighBits;
    const std::uint64_t from_a = low7 + kEveryByte * (0x80 - 'A');
    const std::uint64_t past_z = low7 + kEveryByte * (0x80 - 'Z' - 1);
    return v | ((from_a & ~past_z & ~v & kHighBits) >> 2);
}

// ASCII case-insensitive equality; names of eight bytes or more a word at a time.
inline bool iequals(std::string_view a, std::string_view b) {
    const std::size_t n = a.size();
    if (n != b.size()) return false;
    if (n < 8) {
        for (std::size_t i = 0; i < n; ++i) {
            if (a[i] != b[i] && ascii_lower(a[i]) != ascii_lower(b[i])) return false;
        }
        return true;
    }
    const auto same = [&](std::size_t i) {
        const std::uint64_t x = swar::load_little_endian(a.data() + i);
        const std::uint64_t y = swar::load_little_endian(b.data() + i);
        return x == y || ascii_lower8(x) == ascii_lower8(y);
    };
    for (std::size_t i = 0; i + 8 <= n; i += 8) {
        if (!same(i)) return false;
    }
    return n % 8 == 0 || same(n - 8);  // the last bytes: the last eight, some seen twice
}
inline bool istarts_with(std::string_view s, std::string_view prefix) {
    return s.size() >= prefix.size() && iequals(s.substr(0, prefix.size()), prefix);
}
std::string to_lower(std::string_view s);
std::string to_upper(std::string_view s);
// A method name as a user writes it (-X, retry_methods): a standard one (RFC 9110's and PATCH)
// in any case is upper-cased; any other is kept as written, methods being case-sensitive.
std::string method_as_meant(std::string_view s);
bool icontains(std::string_view haystack, std::string_view needle);
std::string_view trim(std::string_view s);
std::vector<std::string_view> split(std::string_view s, char sep);

// Whole-string unsigned decimal; nullopt on anything else (sign, spaces, overflow).
std::optional<std::uint64_t> parse_u64(std::string_view s);
// true/false/1/0/yes/no/on/off, case-insensitive.
std::optional<bool> parse_bool(std::string_view s);

// RFC 9110 §5.6.2 tchar, by table: header names are checked a byte at a time.
inline constexpr auto kTokenChars = [] {
    std::array<bool, 256> table{};
    for (int c = 'a'; c <= 'z'; ++c) table[static_cast<std::size_t>(c)] = true;
    for (int c = 'A'; c <= 'Z'; ++c) table[static_cast<std::size_t>(c)] = true;
    for (int c = '0'; c <= '9'; ++c) table[static_cast<std::size_t>(c)] = true;
    for (const char c : std::string_view("!#$%&'*+-.^_`|~")) table[static_cast<unsigned char>(c)] = true;
    return table;
}();
inline bool is_token_char(char c) { return kTokenChars[static_cast<unsigned char>(c)]; }
// An HTTP token (RFC 9110 §5.6.2): one or more tchar, e.g. a method or a header name.
bool is_token(std::string_view s);
// No CR, LF or NUL: the value cannot end its header line or the head early.
bool is_safe_field_value(std::string_view s);
// A field that frames a message or its connection, which an HTTP client writes itself from
// the request (Content-Length, Transfer-Encoding, Expect) or its connection (Connection and
// the hop-by-hop fields). Host is not one: a configured Host replaces the URL's authority.
inline bool is_framing_field(std::string_view name) {
    switch (name.size()) {  // one comparison per field rather than ten
        case 2:
            return iequals(name, "te");
        case 6:
            return iequals(name, "expect");
        case 7:
            return iequals(name, "upgrade") || iequals(name, "trailer");
        case 10:
            return iequals(name, "connection") || iequals(name, "keep-alive");
        case 14:
            return iequals(name, "content-length");
        case 16:
            return iequals(name, "proxy-connection");
        case 17:
            return iequals(name, "transfer-encoding");
        default:
            return false;
    }
}

// Value of a hex digit, or -1.
int hex_value(char c);
// Percent-decodes; nullopt when an escape is malformed.
std::optional<std::string> percent_decode(std::string_view s);

// The length of the well-formed UTF-8 sequence at the start of `s` (1 for ASCII, 2 to 4), or 0
// when none starts there (RFC 3629 §4: no overlong form, no surrogate, nothing past U+10FFFF).
std::size_t utf8_sequence(std::string_view s);
// `s` with each ill-formed UTF-8 part (its maximal subpart, as the WHATWG decoder reads it)
// replaced by U+FFFD; `s` as it is when it is all well-formed.
std::string with_invalid_utf8_replaced(std::string_view s);

// Two decimals, as printf's "%.2f" (halves rounded away from zero), without printf.
std::string fixed2(double value);

// Appends `value` in decimal / lower-case hex.
void append_decimal(std::string& out, std::uint64_t value);
void append_hex(std::string& out, std::uint64_t value);

// A host as URLs and authorities write it: an IPv6 literal in brackets ("[::1]"), any other
// host as it is.
std::string bracketed_host(std::string_view host);

// "1.50MB"-style size, two decimals, MiB based (as the routing reason text shows).
std::string format_megabytes(std::uint64_t bytes);

}  // namespace llmgw::str
