#include "util/strings.hpp"

#include <array>
#include <charconv>
#include <cstdint>
#include <cstdio>

namespace llmgw::str {

std::string to_lower(std::string_view s) {
    std::string out(s);
    for (char& c : out) c = ascii_lower(c);
    return out;
}

std::string to_upper(std::string_view s) {
    std::string out(s);
    for (char& c : out) {
        if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 32);
    }
    return out;
}

std::string method_as_meant(std::string_view s) {
    static constexpr std::string_view kStandard[] = {
        "GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH"};
    std::string upper = to_upper(s);
    for (std::string_view standard : kStandard) {
        if (upper == standard) return upper;
    }
    return std::string(s);
}

bool icontains(std::string_view haystack, std::string_view needle) {
    if (needle.empty()) return true;
    for (std::size_t i = 0; i + needle.size() <= haystack.size(); ++i) {
        if (iequals(haystack.substr(i, needle.size()), needle)) return true;
    }
    return false;
}

bool is_token(std::string_view s) {
    if (s.empty()) return false;
    for (const char c : s) {
        if (!is_token_char(c)) return false;
    }
    return true;
}

bool is_safe_field_value(std::string_view s) {
    // Eight bytes at a time. (v - n·0x01…) & ~v & 0x80… is non-zero exactly when a byte of v is
    // below n (n <= 128). CR, LF and NUL are all below 14, and so is nothing else a value
    // usually holds (tab is the exception), so one test clears a word and the exact three only
    // run on a word that fails it.
    using swar::kEveryByte;
    const auto has_byte_below = [](std::uint64_t v, std::uint64_t n) {
        return ((v - kEveryByte * n) & ~v & swar::kHighBits) != 0;
    };
    const auto has_unsafe_byte = [&](std::uint64_t v) {
        return has_byte_below(v, 14) &&
               (has_byte_below(v, 1) || has_byte_below(v ^ (kEveryByte * '\r'), 1) ||
                has_byte_below(v ^ (kEveryByte * '\n'), 1));
    };
    const auto word_at = [&](std::size_t i) { return swar::load_little_endian(s.data() + i); };
    if (s.size() < 8) {
        for (const char c : s) {
            if (c == '\r' || c == '\n' || c == '\0') return false;
        }
        return true;
    }
    for (std::size_t i = 0; i + 8 <= s.size(); i += 8) {
        if (has_unsafe_byte(word_at(i))) return false;
    }
    // The last few bytes: the last eight, some of them looked at twice.
    return s.size() % 8 == 0 || !has_unsafe_byte(word_at(s.size() - 8));
}

std::string_view trim(std::string_view s) {
    const auto is_space = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
    while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
    while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
    return s;
}

std::vector<std::string_view> split(std::string_view s, char sep) {
    std::vector<std::string_view> parts;
    std::size_t start = 0;
    for (;;) {
        const std::size_t pos = s.find(sep, start);
        if (pos == std::string_view::npos) {
            parts.push_back(s.substr(start));
            return parts;
        }
        parts.push_back(s.substr(start, pos - start));
        start = pos + 1;
    }
}

std::optional<std::uint64_t> parse_u64(std::string_view s) {
    if (s.empty()) return std::nullopt;
    std::uint64_t value = 0;
    const auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
    if (ec != std::errc{} || ptr != s.data() + s.size()) return std::nullopt;
    return value;
}

std::optional<bool> parse_bool(std::string_view s) {
    s = trim(s);
    for (std::string_view t : {"true", "1", "yes", "on"}) {
        if (iequals(s, t)) return true;
    }
    for (std::string_view f : {"false", "0", "no", "off"}) {
        if (iequals(s, f)) return false;
    }
    return std::nullopt;
}

int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

std::optional<std::string> percent_decode(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (s[i] != '%') {
            out.push_back(s[i]);
            continue;
        }
        if (i + 2 >= s.size()) return std::nullopt;
        const int hi = hex_value(s[i + 1]);
        const int lo = hex_value(s[i + 2]);
        if (hi < 0 || lo < 0) return std::nullopt;
        out.push_back(static_cast<char>(hi * 16 + lo));
        i += 2;
    }
    return out;
}

std::string fixed2(double value) {
    std::string out;
    if (!(value == value)) return "nan";
    if (value < 0) {
        out += '-';
        value = -value;
    }
    if (value >= 1e15) {  // beyond exact hundredths in a double: printf's way
        char buf[64];
        const int n = std::snprintf(buf, sizeof buf, "%.2f", value);
        out.append(buf, static_cast<std::size_t>(n));
        return out;
    }
    const auto hundredths = static_cast<std::uint64_t>(value * 100.0 + 0.5);
    append_decimal(out, hundredths / 100);
    out += '.';
    out += static_cast<char>('0' + (hundredths / 10) % 10);
    out += static_cast<char>('0' + hundredths % 10);
    return out;
}

void append_decimal(std::string& out, std::uint64_t value) {
    char buf[24];
    const auto r = std::to_chars(buf, buf + sizeof buf, value);
    out.append(buf, static_cast<std::size_t>(r.ptr - buf));
}

void append_hex(std::string& out, std::uint64_t value) {
    char buf[24];
    const auto r = std::to_chars(buf, buf + sizeof buf, value, 16);
    out.append(buf, static_cast<std::size_t>(r.ptr - buf));
}

std::string bracketed_host(std::string_view host) {
    if (host.find(':') == std::string_view::npos) return std::string(host);
    std::string out;
    out.reserve(host.size() + 2);
    out.append("[").append(host).append("]");
    return out;
}

std::string format_megabytes(std::uint64_t bytes) {
    return fixed2(static_cast<double>(bytes) / (1024.0 * 1024.0)) + "MB";
}

namespace {

// The sequence a byte starts (1 to 4 bytes, 0 for none) and the range of its second byte.
struct Utf8Lead {
    std::size_t length = 0;
    unsigned char low = 0x80;
    unsigned char high = 0xBF;
};

Utf8Lead utf8_lead(unsigned char lead) {
    if (lead < 0x80) return {1};
    if (lead >= 0xC2 && lead <= 0xDF) return {2};
    if (lead >= 0xE0 && lead <= 0xEF) {
        return {3, static_cast<unsigned char>(lead == 0xE0 ? 0xA0 : 0x80),
                static_cast<unsigned char>(lead == 0xED ? 0x9F : 0xBF)};
    }
    if (lead >= 0xF0 && lead <= 0xF4) {
        return {4, static_cast<unsigned char>(lead == 0xF0 ? 0x90 : 0x80),
                static_cast<unsigned char>(lead == 0xF4 ? 0x8F : 0xBF)};
    }
    return {};
}

// How many bytes after the lead continue its sequence, up to its length less one.
std::size_t utf8_continuation(std::string_view s, const Utf8Lead& lead) {
    std::size_t k = 0;
    while (k + 1 < lead.length && k + 1 < s.size()) {
        const auto c = static_cast<unsigned char>(s[k + 1]);
        const unsigned char low = k == 0 ? lead.low : 0x80;
        const unsigned char high = k == 0 ? lead.high : 0xBF;
        if (c < low || c > high) break;
        ++k;
    }
    return k;
}

}  // namespace

std::size_t utf8_sequence(std::string_view s) {
    if (s.empty()) return 0;
    const Utf8Lead lead = utf8_lead(static_cast<unsigned char>(s[0]));
    if (lead.length == 0) return 0;
    return utf8_continuation(s, lead) + 1 == lead.length ? lead.length : 0;
}

std::string with_invalid_utf8_replaced(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    for (std::size_t i = 0; i < s.size();) {
        const Utf8Lead lead = utf8_lead(static_cast<unsigned char>(s[i]));
        const std::size_t taken = lead.length == 0 ? 0 : utf8_continuation(s.substr(i), lead) + 1;
        if (taken != 0 && taken == lead.length) {
            out.append(s.substr(i, taken));
        } else {
            out += "\xEF\xBF\xBD";
        }
        i += taken == 0 ? 1 : taken;
    }
    return out;
}

}  // namespace llmgw::str
