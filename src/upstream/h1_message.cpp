#include "upstream/h1_message.hpp"

#include <charconv>
#include <cstdint>

#include "util/field_writer.hpp"
#include "util/strings.hpp"

namespace llmgw::upstream {

namespace {

// Headers that frame the message or the connection: this client writes its own (Host,
// Content-Length) or none. The header policy drops them from what clients send and the
// configuration refuses them as a service's headers; a configured Host is written first.
bool is_framing(std::string_view name) {
    return (name.size() == 4 && str::iequals(name, "host")) || str::is_framing_field(name);
}

bool sends_length(const UpstreamRequest& request) {
    if (request.body && !request.body->empty()) return true;
    const std::string& m = request.method;
    return m == "POST" || m == "PUT" || m == "PATCH";
}

}  // namespace

std::optional<std::string> h1_request_head(const UpstreamRequest& request, const H1Target& target,
                                           std::string* bad_header) {
    if (!str::is_token(request.method)) {
        if (bad_header) *bad_header = "(method)";
        return std::nullopt;
    }
    // A configured Host replaces the URL's authority, as with curl (virtual hosts, tunnels).
    const auto configured_host = request.headers.get("host");
    if (configured_host && !str::is_safe_field_value(*configured_host)) {
        if (bad_header) *bad_header = "Host";
        return std::nullopt;
    }
    const std::string_view host = configured_host ? *configured_host : target.authority;
    constexpr std::string_view kVersion = " HTTP/1.1\r\n";
    std::size_t size = request.method.size() + 1 + target.target.size() + kVersion.size() +
                       field_size("Host", host) + 2;
    for (const HeaderField& f : request.headers) {  // checked and measured before any is written
        if (is_framing(f.name)) continue;
        if (!str::is_token(f.name) || !str::is_safe_field_value(f.value)) {
            if (bad_header) *bad_header = std::string(f.name);
            return std::nullopt;
        }
        size += field_size(f.name, f.value);
    }
    char digits[24];
    std::string_view length;
    if (sends_length(request)) {
        const auto n = static_cast<std::uint64_t>(request.body ? request.body->size() : 0);
        const char* end = std::to_chars(digits, digits + sizeof digits, n).ptr;
        length = std::string_view(digits, static_cast<std::size_t>(end - digits));
        size += field_size("Content-Length", length);
    }

    std::string head(size, '\0');
    char* p = put_bytes(head.data(), request.method);
    *p++ = ' ';
    p = put_bytes(p, target.target);
    p = put_bytes(p, kVersion);
    p = put_field(p, "Host", host);
    for (const HeaderField& f : request.headers) {
        if (!is_framing(f.name)) p = put_field(p, f.name, f.value);
    }
    if (!length.empty()) p = put_field(p, "Content-Length", length);
    *p++ = '\r';
    *p++ = '\n';
    // Measured exactly above, so this changes nothing; an overflow would show in the ASan build.
    head.resize(static_cast<std::size_t>(p - head.data()));
    return head;
}

}  // namespace llmgw::upstream
