// The host and port an upstream URL names, and whether a proxy stands in between: what the
// native client connects to, and which names the gateway looks up for libcurl.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace llmgw::upstream {

struct UrlHost {
    std::string host;  // without IPv6 brackets
    std::uint16_t port = 0;
    bool bracketed = false;  // written [v6] in the URL
};

// `authority` of an http(s) URL, user info not allowed: host[:port] or [v6][:port], the host
// in plain letters, digits, '.', '-', '_' (percent-encoded and international names are left to
// libcurl). An empty port is `default_port` (RFC 3986 §3.2.3).
std::optional<UrlHost> parse_authority(std::string_view authority, std::uint16_t default_port);

// The name to look up for libcurl to reach `url` (http or https), with its port: nothing when
// the host is an address or a localhost name, a proxy that takes names (any but socks4:// and
// socks5://) is configured for the URL's scheme and NO_PROXY does not exempt the host (the
// proxy looks the name up), or the URL is one this does not read (libcurl then looks the name
// up itself).
std::optional<UrlHost> name_for_libcurl(std::string_view url);

// True when the environment names a proxy that libcurl would use for this scheme ("http":
// http_proxy, all_proxy, ALL_PROXY; "https": https_proxy, HTTPS_PROXY and the all_proxy
// pair; an empty value counts as not set), before NO_PROXY. Read once.
bool proxy_configured(std::string_view scheme);

// Whether `no_proxy` (NO_PROXY's value) exempts the host name `host` from the proxy, as
// libcurl 7.88 reads it: names separated by commas or blanks, each matching itself and its
// subdomains (a leading or trailing dot ignored, any case); the value "*" exempts every host.
// Address and CIDR entries never match a name.
bool no_proxy_exempts(std::string_view host, std::string_view no_proxy);
// no_proxy, else NO_PROXY (libcurl's order; empty counts as not set), read once.
std::string_view no_proxy_setting();

}  // namespace llmgw::upstream
