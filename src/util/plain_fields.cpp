#include "util/plain_fields.hpp"

#include <bit>

#include "util/swar.hpp"

namespace llmgw::plain {

const char* skip_printable(const char* p, const char* end) {
    // In each word, (v - 0x20·1…) & ~v marks bytes below 0x20 and (v + 0x01·1…) | v bytes
    // above 0x7e, in their high bits. Either can also mark a byte after a true one, never
    // before, so the lowest mark (the first byte, little-endian) is exact.
    using swar::kEveryByte;
    while (end - p >= 8) {
        const std::uint64_t v = swar::load_little_endian(p);
        const std::uint64_t marks =
            (((v - kEveryByte * 0x20) & ~v) | ((v + kEveryByte) | v)) & swar::kHighBits;
        if (marks != 0) return p + std::countr_zero(marks) / 8;
        p += 8;
    }
    while (p < end && static_cast<unsigned char>(*p) >= 0x20 && static_cast<unsigned char>(*p) < 0x7f) {
        ++p;
    }
    return p;
}

std::optional<std::uint64_t> parse_length(std::string_view value) {
    if (value.empty() || value.size() > 18) return std::nullopt;
    std::uint64_t n = 0;
    for (const char c : value) {
        if (c < '0' || c > '9') return std::nullopt;
        n = n * 10 + static_cast<std::uint64_t>(c - '0');
    }
    return n;
}

bool note_framing_field(std::string_view name, std::string_view value, Framing& framing) {
    using str::iequals;
    switch (name.size()) {  // one comparison per field for most names
        case 7: return !iequals(name, "upgrade");
        case 10:
            if (!iequals(name, "connection")) return true;
            if (iequals(value, "close")) {
                framing.keep_alive = false;
                return true;
            }
            return iequals(value, "keep-alive");
        case 14: {
            if (!iequals(name, "content-length")) return true;
            if (framing.has_length) return false;
            const auto n = parse_length(value);
            if (!n) return false;
            framing.has_length = true;
            framing.length = *n;
            return true;
        }
        case 16: return !iequals(name, "proxy-connection");
        case 17: return !iequals(name, "transfer-encoding");
        default: return true;
    }
}

}  // namespace llmgw::plain
