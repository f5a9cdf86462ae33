#include "server/plain_request.hpp"

#include <algorithm>
#include <cstring>

#include "server/host_field.hpp"
#include "util/plain_fields.hpp"
#include "util/strings.hpp"

namespace llmgw::server {
namespace {

// Host and Expect, then framing. False: a field this pass leaves to Beast (an invalid Host:
// refused there).
bool note_field(std::string_view name, std::string_view value, plain::Framing& framing, int& hosts) {
    if (name.size() == 4 && str::iequals(name, "host")) {
        ++hosts;
        if (!is_valid_host(value)) return false;
    }
    if (name.size() == 6 && str::iequals(name, "expect")) return false;
    return plain::note_framing_field(name, value, framing);
}

}  // namespace

std::optional<PlainRequest> parse_plain_request(std::string_view buffered, std::uint64_t body_limit,
                                                Headers& headers) {
    headers.clear();
    const char* const begin = buffered.data();
    const char* const end = begin + std::min(buffered.size(), plain::kHeadMax);
    PlainRequest out;

    // Request line: token SP target SP "HTTP/1.1" CRLF, the target visible bytes.
    const char* p = plain::skip_token(begin, end);
    if (p == begin || p == end || *p != ' ') return std::nullopt;
    out.method = std::string_view(begin, static_cast<std::size_t>(p - begin));
    const char* const target = ++p;
    const char* const printable_end = plain::skip_printable(p, end);
    p = static_cast<const char*>(std::memchr(p, ' ', static_cast<std::size_t>(printable_end - p)));
    if (p == nullptr || p == target) return std::nullopt;
    out.target = std::string_view(target, static_cast<std::size_t>(p - target));
    ++p;
    constexpr std::string_view kVersion = "HTTP/1.1\r\n";
    if (static_cast<std::size_t>(end - p) < kVersion.size() ||
        std::memcmp(p, kVersion.data(), kVersion.size()) != 0) {
        return std::nullopt;
    }

    int hosts = 0;
    plain::Framing framing;
    p = plain::read_fields(p + kVersion.size(), end, headers,
                           [&](std::string_view name, std::string_view value) {
                               return note_field(name, value, framing, hosts);
                           });
    if (p == nullptr || hosts != 1) return std::nullopt;
    out.keep_alive = framing.keep_alive;
    out.has_content_length = framing.has_length;
    const std::uint64_t length = framing.length;

    const auto head_size = static_cast<std::size_t>(p - begin);
    if (length > body_limit || buffered.size() - head_size < length) return std::nullopt;
    out.body = buffered.substr(head_size, static_cast<std::size_t>(length));
    out.size = head_size + static_cast<std::size_t>(length);
    return out;
}

}  // namespace llmgw::server
