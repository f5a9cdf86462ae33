#include "upstream/plain_response.hpp"

#include <algorithm>
#include <cstring>

#include "util/plain_fields.hpp"

namespace llmgw::upstream {
namespace {

bool is_digit(char c) { return c >= '0' && c <= '9'; }

}  // namespace

std::optional<PlainResponse> parse_plain_response(std::string_view buffered, Headers& headers) {
    headers.clear();
    const char* const begin = buffered.data();
    const char* const end = begin + std::min(buffered.size(), plain::kHeadMax);
    PlainResponse out;

    // Status line: "HTTP/1.1" SP 3DIGIT SP reason CRLF, the reason printable (tabs too).
    constexpr std::string_view kVersion = "HTTP/1.1 ";
    if (static_cast<std::size_t>(end - begin) < kVersion.size() + 4 ||
        std::memcmp(begin, kVersion.data(), kVersion.size()) != 0) {
        return std::nullopt;
    }
    const char* p = begin + kVersion.size();
    if (!is_digit(p[0]) || !is_digit(p[1]) || !is_digit(p[2]) || p[3] != ' ') return std::nullopt;
    out.status = (p[0] - '0') * 100 + (p[1] - '0') * 10 + (p[2] - '0');
    // No interim answers, and none whose body is framed by the status rather than the length.
    if (out.status < 200 || out.status > 599 || out.status == 204 || out.status == 304) {
        return std::nullopt;
    }
    const char* const reason = p + 4;
    p = plain::skip_field_text(reason, end);
    if (end - p < 2 || p[0] != '\r' || p[1] != '\n') return std::nullopt;
    out.reason = std::string_view(reason, static_cast<std::size_t>(p - reason));

    plain::Framing framing;
    p = plain::read_fields(p + 2, end, headers, [&](std::string_view name, std::string_view value) {
        return plain::note_framing_field(name, value, framing);
    });
    if (p == nullptr || !framing.has_length) return std::nullopt;
    out.keep_alive = framing.keep_alive;
    out.content_length = framing.length;

    const auto head_size = static_cast<std::size_t>(p - begin);
    if (buffered.size() - head_size < out.content_length) return std::nullopt;
    out.body = buffered.substr(head_size, static_cast<std::size_t>(out.content_length));
    out.size = head_size + static_cast<std::size_t>(out.content_length);
    return out;
}

}  // namespace llmgw::upstream
