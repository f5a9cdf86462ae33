#include "upstream/url_host.hpp"

#include <algorithm>
#include <cstdlib>
#include <initializer_list>

#include "util/strings.hpp"

namespace llmgw::upstream {

namespace {

// The first of these variables that is set and not empty, as libcurl picks them; empty if none.
std::string proxy_named(std::initializer_list<const char*> names) {
    for (const char* name : names) {
        const char* value = std::getenv(name);
        if (value && *value) return value;
    }
    return {};
}

// The proxy libcurl would use for `scheme`, read once.
const std::string& proxy_for(std::string_view scheme) {
    static const std::string http = proxy_named({"http_proxy", "all_proxy", "ALL_PROXY"});
    static const std::string https =
        proxy_named({"https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"});
    return scheme == "https" ? https : http;
}

// Whether the proxy for `scheme` is given host names: any but socks4:// and socks5://, for
// which libcurl looks the name up itself and sends the address.
bool proxy_takes_names(std::string_view scheme) {
    const std::string& proxy = proxy_for(scheme);
    return !proxy.empty() && !str::istarts_with(proxy, "socks4://") &&
           !str::istarts_with(proxy, "socks5://");
}

bool is_letter(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

}  // namespace

std::optional<UrlHost> parse_authority(std::string_view authority, std::uint16_t default_port) {
    if (authority.empty() || authority.find('@') != std::string_view::npos) return std::nullopt;
    UrlHost out;
    out.port = default_port;
    std::string_view host = authority;
    std::string_view port;
    if (host.front() == '[') {
        const std::size_t close = host.find(']');
        if (close == std::string_view::npos) return std::nullopt;
        const std::string_view after = host.substr(close + 1);
        if (!after.empty() && after.front() != ':') return std::nullopt;
        if (!after.empty()) port = after.substr(1);
        host = host.substr(1, close - 1);
        out.bracketed = true;
    } else if (const std::size_t colon = host.rfind(':'); colon != std::string_view::npos) {
        port = host.substr(colon + 1);
        host = host.substr(0, colon);
        if (host.find(':') != std::string_view::npos) return std::nullopt;
    }
    if (host.empty()) return std::nullopt;
    for (const char c : host) {
        const bool alnum = is_letter(c) || (c >= '0' && c <= '9');
        const bool ok = alnum || c == '.' || c == '-' || c == '_' || (out.bracketed && c == ':');
        if (!ok) return std::nullopt;
    }
    if (!port.empty()) {
        const auto number = str::parse_u64(port);
        if (!number || *number == 0 || *number > 65535) return std::nullopt;
        out.port = static_cast<std::uint16_t>(*number);
    }
    out.host = std::string(host);
    return out;
}

std::optional<UrlHost> name_for_libcurl(std::string_view url) {
    std::string_view scheme;
    std::uint16_t default_port = 0;
    if (str::istarts_with(url, "https://")) {
        scheme = "https";
        default_port = 443;
    } else if (str::istarts_with(url, "http://")) {
        scheme = "http";
        default_port = 80;
    } else {
        return std::nullopt;
    }
    const std::string_view rest = url.substr(scheme.size() + 3);
    auto host = parse_authority(rest.substr(0, rest.find_first_of("/?#")), default_port);
    // An address, or a name ending in a dot (libcurl strips it for its own lookups): libcurl
    // needs no help.
    if (!host || host->bracketed || host->host.back() == '.') return std::nullopt;
    // 10.1.2.3, and the shorthand forms such as 127.1
    if (std::none_of(host->host.begin(), host->host.end(), is_letter)) return std::nullopt;
    // libcurl answers localhost and *.localhost itself, with the loopback addresses (RFC 6761
    // §6.3), where the system resolver may know no such name.
    const std::string_view name = host->host;
    constexpr std::string_view kLocal = ".localhost";
    const bool local = str::iequals(name, kLocal.substr(1)) ||
                       (name.size() > kLocal.size() &&
                        str::iequals(name.substr(name.size() - kLocal.size()), kLocal));
    if (local) return std::nullopt;
    if (proxy_takes_names(scheme) && !no_proxy_exempts(name, no_proxy_setting())) {
        return std::nullopt;  // the proxy looks the name up
    }
    return host;
}

bool no_proxy_exempts(std::string_view host, std::string_view no_proxy) {
    if (no_proxy == "*") return true;
    if (!host.empty() && host.back() == '.') host.remove_suffix(1);
    const auto blank = [](char c) { return c == ' ' || c == '\t'; };
    std::size_t i = 0;
    while (i < no_proxy.size()) {
        // Commas and blanks both separate names (blanks deprecated by libcurl 7.88, still read).
        while (i < no_proxy.size() && (blank(no_proxy[i]) || no_proxy[i] == ',')) ++i;
        const std::size_t start = i;
        while (i < no_proxy.size() && !blank(no_proxy[i]) && no_proxy[i] != ',') ++i;
        std::string_view token = no_proxy.substr(start, i - start);
        if (!token.empty() && token.back() == '.') token.remove_suffix(1);
        if (!token.empty() && token.front() == '.') token.remove_prefix(1);
        if (!token.empty() && token.size() <= host.size()) {
            const std::size_t cut = host.size() - token.size();
            if (str::iequals(host.substr(cut), token) && (cut == 0 || host[cut - 1] == '.')) {
                return true;
            }
        }
    }
    return false;
}

std::string_view no_proxy_setting() {
    static const std::string value = [] {
        for (const char* name : {"no_proxy", "NO_PROXY"}) {  // libcurl's order
            const char* v = std::getenv(name);
            if (v && *v) return std::string(v);  // empty counts as not set, as for libcurl
        }
        return std::string();
    }();
    return value;
}

bool proxy_configured(std::string_view scheme) { return !proxy_for(scheme).empty(); }

}  // namespace llmgw::upstream
