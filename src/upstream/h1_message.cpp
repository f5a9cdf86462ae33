#include "upstream/h1_message.hpp"

#include "util/strings.hpp"

namespace llmgw::upstream {

namespace {

// Headers that frame the message or the connection: this client writes its own (Host,
// Content-Length) or none, whatever a service's configured headers say. The header policy
// already drops them from what clients send.
bool is_framing(std::string_view name) {
    using str::iequals;
    switch (name.size()) {  // one comparison per header rather than ten
        case 2: return iequals(name, "te");
        case 4: return iequals(name, "host");
        case 6: return iequals(name, "expect");
        case 7: return iequals(name, "upgrade") || iequals(name, "trailer");
        case 10: return iequals(name, "connection") || iequals(name, "keep-alive");
        case 14: return iequals(name, "content-length");
        case 16: return iequals(name, "proxy-connection");
        case 17: return iequals(name, "transfer-encoding");
        default: return false;
    }
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
    std::size_t size = request.method.size() + target.target.size() + target.authority.size() + 48;
    for (const HeaderField& f : request.headers) size += f.name.size() + f.value.size() + 4;
    std::string head;
    head.reserve(size);
    head += request.method;
    head += ' ';
    head += target.target;
    head += " HTTP/1.1\r\nHost: ";
    // A configured Host replaces the URL's authority, as with curl (virtual hosts, tunnels).
    const auto host = request.headers.get("host");
    if (host && !str::is_safe_field_value(*host)) {
        if (bad_header) *bad_header = "Host";
        return std::nullopt;
    }
    head += host ? *host : std::string_view(target.authority);
    head += "\r\n";
    for (const HeaderField& f : request.headers) {
        if (is_framing(f.name)) continue;
        if (!str::is_token(f.name) || !str::is_safe_field_value(f.value)) {
            if (bad_header) *bad_header = std::string(f.name);
            return std::nullopt;
        }
        head += f.name;
        head += ": ";
        head += f.value;
        head += "\r\n";
    }
    if (sends_length(request)) {
        head += "Content-Length: ";
        head += std::to_string(request.body ? request.body->size() : 0);
        head += "\r\n";
    }
    head += "\r\n";
    return head;
}

}  // namespace llmgw::upstream
