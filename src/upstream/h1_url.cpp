#include "upstream/h1_url.hpp"

#include <cstdlib>

#include "util/strings.hpp"

namespace llmgw::upstream {

namespace {

constexpr std::string_view kScheme = "http://";

// Where the request target of an http:// URL begins (the end of its authority), or npos when
// the URL is not plain http.
std::size_t target_start(std::string_view url) {
    if (url.size() <= kScheme.size() || !str::istarts_with(url, kScheme)) return std::string_view::npos;
    // A plain loop: find_first_of calls memchr over "/?#" once per byte of the authority.
    for (std::size_t i = kScheme.size(); i < url.size(); ++i) {
        if (url[i] == '/' || url[i] == '?' || url[i] == '#') return i;
    }
    return url.size();
}

// A request target the native client may write as it is.
bool sendable_target(std::string_view target) {
    if (target.find('#') != std::string_view::npos) return false;
    for (const char c : target) {
        // Bytes that would change the request line are never sent as they are.
        if (static_cast<unsigned char>(c) <= ' ' || c == 0x7f) return false;
    }
    return target.empty() || target.front() != '?';  // curl adds the "/"
}

}  // namespace

std::optional<H1Target> parse_h1_target(std::string_view url) {
    const std::size_t cut = target_start(url);
    if (cut == std::string_view::npos) return std::nullopt;
    const std::string_view authority = url.substr(kScheme.size(), cut - kScheme.size());
    const std::string_view target = url.substr(cut);
    if (authority.empty() || authority.find('@') != std::string_view::npos) return std::nullopt;
    if (!sendable_target(target)) return std::nullopt;

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
    const std::string port_text = std::to_string(out.port);
    out.authority = v6 ? "[" + out.host + "]" : out.host;
    if (out.port != 80) out.authority.append(":").append(port_text);
    out.origin = out.host;
    out.origin.append(":").append(port_text);
    out.target = target.empty() ? std::string_view("/") : target;
    return out;
}

std::optional<H1Target> H1TargetCache::get(std::string_view url) {
    const std::size_t cut = target_start(url);
    if (cut == std::string_view::npos) return std::nullopt;
    const std::string_view origin = url.substr(0, cut);
    auto it = origins_.find(origin);
    if (it == origins_.end()) {
        if (origins_.size() >= kMaxOrigins) origins_.clear();
        it = origins_.emplace(std::string(origin), parse_h1_target(origin)).first;
    }
    const std::string_view target = url.substr(cut);
    if (!it->second || !sendable_target(target)) return std::nullopt;
    H1Target out = *it->second;
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
