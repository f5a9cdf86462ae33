#include "upstream/h1_url.hpp"

#include <cstdlib>

#include "util/strings.hpp"

namespace llmgw::upstream {

std::optional<H1Target> parse_h1_target(std::string_view url) {
    constexpr std::string_view scheme = "http://";
    if (url.size() <= scheme.size() || !str::istarts_with(url, scheme)) return std::nullopt;
    std::string_view rest = url.substr(scheme.size());
    const std::size_t end = rest.find_first_of("/?#");
    const std::string_view authority = rest.substr(0, end);
    std::string_view target = end == std::string_view::npos ? std::string_view() : rest.substr(end);
    if (authority.empty() || authority.find('@') != std::string_view::npos) return std::nullopt;
    if (target.find('#') != std::string_view::npos) return std::nullopt;
    for (const char c : target) {
        // Bytes that would change the request line are never sent as they are.
        if (static_cast<unsigned char>(c) <= ' ' || c == 0x7f) return std::nullopt;
    }
    if (!target.empty() && target.front() == '?') return std::nullopt;  // curl adds the "/"

    H1Target out;
    std::string_view host = authority;
    std::string_view port;
    if (host.front() == '[') {
        const std::size_t close = host.find(']');
        if (close == std::string_view::npos) return std::nullopt;
        const std::string_view after = host.substr(close + 1);
        if (!after.empty() && after.front() != ':') return std::nullopt;
        if (!after.empty()) port = after.substr(1);
        host = host.substr(1, close - 1);
    } else if (const std::size_t colon = host.rfind(':'); colon != std::string_view::npos) {
        port = host.substr(colon + 1);
        host = host.substr(0, colon);
        if (host.find(':') != std::string_view::npos) return std::nullopt;
    }
    if (host.empty()) return std::nullopt;
    const bool v6 = authority.front() == '[';
    for (const char c : host) {
        const bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
        const bool ok = alnum || c == '.' || c == '-' || c == '_' || (v6 && c == ':');
        if (!ok) return std::nullopt;  // percent-encoded or international names: libcurl
    }
    if (!port.empty()) {
        const auto number = str::parse_u64(port);
        if (!number || *number == 0 || *number > 65535) return std::nullopt;
        out.port = static_cast<std::uint16_t>(*number);
    }
    out.host = std::string(host);
    out.authority = v6 ? "[" + out.host + "]" : out.host;
    if (out.port != 80) out.authority += ":" + std::to_string(out.port);
    out.origin = out.host + ":" + std::to_string(out.port);
    out.target = target.empty() ? std::string_view("/") : target;
    return out;
}

bool http_proxy_configured() {
    static const bool configured = [] {
        for (const char* name : {"http_proxy", "all_proxy", "ALL_PROXY"}) {
            const char* value = std::getenv(name);
            if (value && *value) return true;
        }
        return false;
    }();
    return configured;
}

}  // namespace llmgw::upstream
