#include "server/plain_request.hpp"

#include <algorithm>
#include <bit>
#include <cstring>

#include "util/strings.hpp"

namespace llmgw::server {
namespace {

bool is_ows(char c) { return c == ' ' || c == '\t'; }

// The first byte from p that is not SP or visible ASCII (0x20-0x7e), or end; eight at a time.
// In each word, (v - 0x20·1…) & ~v marks bytes below 0x20 and ((v + 0x01·1…) | v) bytes above
// 0x7e, in their high bits. Either can also mark a byte above a true one, never below, so the
// lowest mark (the first byte, little-endian) is exact.
const char* skip_printable(const char* p, const char* end) {
    constexpr std::uint64_t kOnes = 0x0101010101010101ULL;
    constexpr std::uint64_t kHighs = 0x8080808080808080ULL;
    while (end - p >= 8) {
        std::uint64_t v;
        std::memcpy(&v, p, 8);
        if constexpr (std::endian::native == std::endian::big) v = __builtin_bswap64(v);
        const std::uint64_t marks = (((v - kOnes * 0x20) & ~v) | ((v + kOnes) | v)) & kHighs;
        if (marks != 0) return p + std::countr_zero(marks) / 8;
        p += 8;
    }
    while (p < end && static_cast<unsigned char>(*p) >= 0x20 && static_cast<unsigned char>(*p) < 0x7f) {
        ++p;
    }
    return p;
}

const char* skip_token(const char* p, const char* end) {
    while (p < end && str::is_token_char(*p)) ++p;
    return p;
}

// 1 to 18 digits and nothing else (so no overflow, and no list: Beast reads "5, 5" as 5).
std::optional<std::uint64_t> plain_length(std::string_view value) {
    if (value.empty() || value.size() > 18) return std::nullopt;
    std::uint64_t n = 0;
    for (const char c : value) {
        if (c < '0' || c > '9') return std::nullopt;
        n = n * 10 + static_cast<std::uint64_t>(c - '0');
    }
    return n;
}

// What a field means for framing. False: a field this pass leaves to Beast.
bool note_field(std::string_view name, std::string_view value, PlainRequest& out, int& hosts,
                std::uint64_t& length) {
    using str::iequals;
    switch (name.size()) {  // one comparison per field for most names
        case 4:
            if (iequals(name, "host")) ++hosts;
            return true;
        case 6: return !iequals(name, "expect");
        case 7: return !iequals(name, "upgrade");
        case 10:
            if (!iequals(name, "connection")) return true;
            if (iequals(value, "close")) {
                out.keep_alive = false;
                return true;
            }
            return iequals(value, "keep-alive");
        case 14: {
            if (!iequals(name, "content-length")) return true;
            if (out.has_content_length) return false;
            const auto n = plain_length(value);
            if (!n) return false;
            out.has_content_length = true;
            length = *n;
            return true;
        }
        case 16: return !iequals(name, "proxy-connection");
        case 17: return !iequals(name, "transfer-encoding");
        default: return true;
    }
}

}  // namespace

std::optional<PlainRequest> parse_plain_request(std::string_view buffered, std::uint64_t body_limit,
                                                Headers& headers) {
    headers.clear();
    const char* const begin = buffered.data();
    const char* const end = begin + std::min(buffered.size(), kPlainHeadMax);
    PlainRequest out;

    // Request line: token SP visible+ SP "HTTP/1.1" CRLF.
    const char* p = skip_token(begin, end);
    if (p == begin || p == end || *p != ' ') return std::nullopt;
    out.method = std::string_view(begin, static_cast<std::size_t>(p - begin));
    const char* start = ++p;
    // The target is visible bytes up to the next SP.
    const char* printable_end = skip_printable(p, end);
    p = static_cast<const char*>(std::memchr(p, ' ', static_cast<std::size_t>(printable_end - p)));
    if (p == nullptr || p == start) return std::nullopt;
    out.target = std::string_view(start, static_cast<std::size_t>(p - start));
    ++p;
    constexpr std::string_view kVersion = "HTTP/1.1\r\n";
    if (static_cast<std::size_t>(end - p) < kVersion.size() ||
        std::memcmp(p, kVersion.data(), kVersion.size()) != 0) {
        return std::nullopt;
    }
    p += kVersion.size();

    // Fields: token ":" OWS value OWS CRLF, each value visible bytes, spaces and tabs.
    int hosts = 0;
    std::uint64_t length = 0;
    for (;;) {
        if (end - p < 2) return std::nullopt;
        if (p[0] == '\r' && p[1] == '\n') {
            p += 2;
            break;
        }
        start = p;
        p = skip_token(p, end);
        if (p == start || p == end || *p != ':') return std::nullopt;
        const std::string_view name(start, static_cast<std::size_t>(p - start));
        ++p;
        while (p < end && is_ows(*p)) ++p;
        start = p;
        p = skip_printable(p, end);
        while (p < end && *p == '\t') p = skip_printable(p + 1, end);
        const char* last = p;  // trailing OWS is not part of the value
        while (last > start && is_ows(last[-1])) --last;
        // CRLF. A next line that begins with SP or HTAB (obs-fold, which Beast's path refuses
        // with a 400) has no field name, so the loop declines it.
        if (end - p < 2 || p[0] != '\r' || p[1] != '\n') return std::nullopt;
        p += 2;
        const std::string_view value(start, static_cast<std::size_t>(last - start));
        if (!note_field(name, value, out, hosts, length)) return std::nullopt;
        headers.add(name, value);
    }
    if (hosts != 1) return std::nullopt;

    const auto head_size = static_cast<std::size_t>(p - begin);
    if (length > body_limit || buffered.size() - head_size < length) return std::nullopt;
    out.body = buffered.substr(head_size, static_cast<std::size_t>(length));
    out.size = head_size + static_cast<std::size_t>(length);
    return out;
}

}  // namespace llmgw::server
