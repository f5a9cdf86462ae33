#include "config/base_url.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>

#include "util/strings.hpp"

namespace llmgw::config {
namespace {

bool is_host_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_';
}

bool is_ipv6_char(char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || c == ':' || c == '.';
}

// Path characters a base path may hold: RFC 3986 pchar plus '/', without '%' escapes,
// so a base path can never smuggle "..", a query or a fragment.
bool is_path_char(char c) {
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
    return std::string_view("-._~!$&'()*+,;=:@/").find(c) != std::string_view::npos;
}

std::uint16_t default_port(std::string_view scheme) { return scheme == "https" ? 443 : 80; }

Result<std::string, std::string> parse_host(std::string_view host) {
    if (host.empty()) return unexpected(std::string("host is empty"));
    const std::string lower = str::to_lower(host);
    if (lower.front() == '[') {
        if (lower.size() < 3 || lower.back() != ']') {
            return unexpected(std::string("bad IPv6 host"));
        }
        const std::string inner = lower.substr(1, lower.size() - 2);
        in6_addr address{};
        if (!std::all_of(inner.begin(), inner.end(), is_ipv6_char) ||
            ::inet_pton(AF_INET6, inner.c_str(), &address) != 1) {
            return unexpected(std::string("bad IPv6 host"));
        }
        return inner;
    }
    for (char c : lower) {
        if (!is_host_char(c)) {
            return unexpected("host has an invalid character '" + std::string(1, c) + "'");
        }
    }
    // DNS labels (RFC 1123 §2.1): 1 to 63 characters, not starting or ending with '-'; one
    // final '.' (a fully qualified name) is fine.
    std::string_view labels = lower;
    if (labels.size() > 1 && labels.back() == '.') labels.remove_suffix(1);
    if (labels.size() > 253)
        return unexpected(std::string("host name is longer than 253 characters"));
    for (const std::string_view label : str::split(labels, '.')) {
        if (label.empty()) return unexpected(std::string("host name has an empty label ('..')"));
        if (label.size() > 63)
            return unexpected(std::string("host name has a label longer than 63 characters"));
        if (label.front() == '-' || label.back() == '-') {
            return unexpected(std::string("host name has a label that starts or ends with '-'"));
        }
    }
    return lower;
}

// Splits "host[:port]" (the host may be a bracketed IPv6 literal).
Result<std::uint16_t, std::string> parse_port(std::string_view authority, std::string_view& host) {
    const std::size_t bracket = authority.rfind(']');
    const std::size_t colon = authority.rfind(':');
    host = authority;
    if (colon == std::string_view::npos || (bracket != std::string_view::npos && colon < bracket)) {
        return std::uint16_t{0};
    }
    host = authority.substr(0, colon);
    const auto port = str::parse_u64(authority.substr(colon + 1));
    if (!port || *port == 0 || *port > 65535) {
        return unexpected(std::string("port must be a number from 1 to 65535"));
    }
    return static_cast<std::uint16_t>(*port);
}

Result<std::string, std::string> parse_path(std::string_view path) {
    for (char c : path) {
        if (!is_path_char(c)) {
            return unexpected("base path has an invalid character '" + std::string(1, c) + "'");
        }
    }
    const std::string normal = normalize_base_path(path);
    if (normal.empty()) return normal;
    for (std::string_view segment : str::split(std::string_view(normal).substr(1), '/')) {
        if (segment.empty() || segment == "." || segment == "..") {
            return unexpected(std::string("base path has an empty, '.' or '..' segment"));
        }
    }
    return normal;
}

}  // namespace

std::string normalize_base_path(std::string_view path) {
    while (!path.empty() && path.back() == '/') path.remove_suffix(1);
    while (!path.empty() && path.front() == '/') path.remove_prefix(1);
    if (path.empty()) return {};
    return "/" + std::string(path);
}

std::string format_base_url(const BaseUrl& url) {
    std::string text = url.scheme + "://";
    text += str::bracketed_host(url.host);
    if (url.port != 0) text += ":" + std::to_string(url.port);
    return text + url.base_path;
}

Result<BaseUrl, std::string> parse_base_url(std::string_view text) {
    const std::size_t sep = text.find("://");
    if (sep == std::string_view::npos) {
        return unexpected(std::string("must start with http:// or https://"));
    }
    BaseUrl url;
    url.scheme = str::to_lower(text.substr(0, sep));
    if (url.scheme != "http" && url.scheme != "https") {
        return unexpected(std::string("scheme must be http or https"));
    }
    const std::string_view rest = text.substr(sep + 3);
    if (rest.find_first_of("?#") != std::string_view::npos) {
        return unexpected(std::string("a query or fragment is not allowed"));
    }
    const std::size_t slash = rest.find('/');
    const std::string_view authority = rest.substr(0, slash);
    if (authority.find('@') != std::string_view::npos) {
        return unexpected(std::string("user info ('@') is not allowed"));
    }
    std::string_view host_text;
    auto port = parse_port(authority, host_text);
    if (!port) return unexpected(port.error());
    auto host = parse_host(host_text);
    if (!host) return unexpected(host.error());
    auto path =
        parse_path(slash == std::string_view::npos ? std::string_view() : rest.substr(slash));
    if (!path) return unexpected(path.error());
    url.host = std::move(*host);
    url.port = *port == default_port(url.scheme) ? std::uint16_t{0} : *port;
    url.base_path = std::move(*path);
    url.text = format_base_url(url);
    return url;
}

}  // namespace llmgw::config
