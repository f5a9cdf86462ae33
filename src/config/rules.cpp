#include "config/rules.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <optional>

#include "util/strings.hpp"

namespace llmgw::config {
namespace {

bool is_lower_alnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }
bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool is_digit(char c) { return c >= '0' && c <= '9'; }

Unexpected<std::string> refuse(std::string_view reason) { return unexpected(std::string(reason)); }

}  // namespace

Result<std::string, std::string> as_service_name(std::string_view s) {
    const auto ok = [](char c) { return is_lower_alnum(c) || c == '-' || c == '_'; };
    if (s.empty() || !std::all_of(s.begin(), s.end(), ok)) {
        return refuse("not a service name (use lower-case letters, digits, '-' and '_')");
    }
    return std::string(s);
}

Result<std::string, std::string> as_method(std::string_view s) {
    if (!str::is_token(s)) return refuse("not an HTTP method name");
    return str::method_as_meant(s);
}

Result<std::string, std::string> as_env_name(std::string_view s) {
    const auto ok = [](char c) { return is_alpha(c) || is_digit(c) || c == '_'; };
    if (s.empty() || is_digit(s.front()) || !std::all_of(s.begin(), s.end(), ok)) {
        return refuse("not an environment variable name");
    }
    return std::string(s);
}

Result<std::string, std::string> as_header_name(std::string_view s) {
    if (!str::is_token(s)) return refuse("not a header name");
    return std::string(s);
}

Result<std::string, std::string> as_service_header_name(std::string_view s) {
    auto name = as_header_name(s);
    if (name && str::is_framing_field(s)) {
        return refuse("llmgw writes it for each request (it frames the message or the connection)");
    }
    return name;
}

Result<std::string, std::string> as_header_value(std::string_view s) {
    const auto control = [](char c) {
        return (static_cast<unsigned char>(c) < 0x20 && c != '\t') || c == 0x7f;
    };
    if (std::any_of(s.begin(), s.end(), control)) {
        return refuse("a header value cannot contain a control character (CR, LF, NUL, …)");
    }
    return std::string(s);
}

Result<std::string, std::string> as_log_level(std::string_view s) {
    const std::string lower = str::to_lower(s);
    for (std::string_view level : {"debug", "info", "warn", "error"}) {
        if (lower == level) return lower;
    }
    return refuse("not a log level (use debug, info, warn or error)");
}

Result<std::string, std::string> as_log_format(std::string_view s) {
    const std::string lower = str::to_lower(s);
    if (lower == "text" || lower == "json") return lower;
    return refuse("not a log format (use text or json)");
}

Result<std::string, std::string> as_listen_host(std::string_view s) {
    // An IPv6 address may come as it is written in URLs and nginx's listen: "[::1]".
    if (s.size() > 2 && s.front() == '[' && s.back() == ']' &&
        s.find(':') != std::string_view::npos) {
        s = s.substr(1, s.size() - 2);
    }
    const auto bad = [](char c) {
        return static_cast<unsigned char>(c) <= ' ' || c == '/' || c == '[' || c == ']';
    };
    if (s.empty() || std::any_of(s.begin(), s.end(), bad)) {
        return refuse("not a host name or address");
    }
    // A colon belongs to IPv6 addresses only: "127.0.0.1:9000" would fail later, at listen.
    in6_addr v6{};
    const std::string address(s.substr(0, s.find('%')));  // without a zone: fe80::1%eth0
    if (s.find(':') != std::string_view::npos && ::inet_pton(AF_INET6, address.c_str(), &v6) != 1) {
        return refuse(
            "not a host name or address (the port is a setting of its own: port, --port)");
    }
    return std::string(s);
}

namespace {

// An IPv6 address as the URL Standard serializes it (and browsers send it): lower-case hex
// pieces without leading zeros, the first longest run of two or more zero pieces as "::".
std::string url_ipv6(const in6_addr& address) {
    std::uint16_t pieces[8];
    for (int i = 0; i < 8; ++i) {
        pieces[i] =
            static_cast<std::uint16_t>(address.s6_addr[2 * i] << 8 | address.s6_addr[2 * i + 1]);
    }
    int run_at = -1;
    int run_length = 1;
    for (int i = 0; i < 8;) {
        int j = i;
        while (j < 8 && pieces[j] == 0) ++j;
        if (j - i > run_length) {
            run_at = i;
            run_length = j - i;
        }
        i = j == i ? i + 1 : j;
    }
    std::string out;
    for (int i = 0; i < 8; ++i) {
        if (i == run_at) {
            out += i == 0 ? "::" : ":";
            i += run_length - 1;
            continue;
        }
        char piece[8];
        std::snprintf(piece, sizeof piece, "%x", static_cast<unsigned>(pieces[i]));
        out += piece;
        if (i < 7) out += ':';
    }
    return out;
}

// The host of an origin as browsers send it, or nullopt when it is none: "[" IPv6 "]" (in the
// URL Standard's form), a dotted IPv4 address (as written: "01.2.3.4" is octal to a browser),
// or dot-separated labels (a trailing dot allowed) without the code points the URL Standard
// forbids in a domain; browsers send a name that is not ASCII in punycode.
std::optional<std::string> origin_host(std::string_view host) {
    if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
        in6_addr v6{};
        const std::string inner(host.substr(1, host.size() - 2));
        if (::inet_pton(AF_INET6, inner.c_str(), &v6) != 1) return std::nullopt;
        return "[" + url_ipv6(v6) + "]";
    }
    constexpr std::string_view kForbidden = " #%/:<>?@[\\]^|*";
    const auto bad = [kForbidden](char c) {
        const auto u = static_cast<unsigned char>(c);
        return u < ' ' || u >= 0x7f || kForbidden.find(c) != std::string_view::npos;
    };
    if (host.empty() || host.front() == '.' || host.find("..") != std::string_view::npos ||
        std::any_of(host.begin(), host.end(), bad)) {
        return std::nullopt;
    }
    std::string_view last = host.back() == '.' ? host.substr(0, host.size() - 1) : host;
    last.remove_prefix(last.rfind('.') + 1);  // npos + 1: the whole name
    if (!last.empty() && std::all_of(last.begin(), last.end(), is_digit)) {  // an IPv4 address
        in_addr v4{};
        char text[INET_ADDRSTRLEN];
        const std::string written(host);
        if (::inet_pton(AF_INET, written.c_str(), &v4) != 1 ||
            ::inet_ntop(AF_INET, &v4, text, sizeof text) == nullptr || written != text) {
            return std::nullopt;
        }
    }
    return std::string(host);
}

// One origin as a browser sends it (RFC 6454 §6.2): scheme "://" host [":" port], lower case,
// without a path; or "null". The origin as browsers serialize it (a default port, http :80 or
// https :443, left out; a port without leading zeros; an IPv6 address in its short form); or
// an explanation when it is not one.
Result<std::string, std::string> as_origin(std::string_view origin) {
    if (origin == "*") return refuse("'*' allows every origin and must stand alone");
    if (origin == "null") return std::string(origin);
    const std::size_t sep = origin.find("://");
    const auto scheme_char = [](char c) {
        return is_alpha(c) || is_digit(c) || c == '+' || c == '-' || c == '.';
    };
    if (sep == std::string_view::npos || sep == 0 || !is_alpha(origin.front()) ||
        !std::all_of(origin.begin(), origin.begin() + static_cast<std::ptrdiff_t>(sep),
                     scheme_char)) {
        return refuse("'" + printable(origin) +
                      "' is not an origin such as https://app.example.com");
    }
    const std::string_view scheme = origin.substr(0, sep);
    const std::string_view authority = origin.substr(sep + 3);
    const std::string start = "'" + printable(origin) + "' is not an origin: ";
    if (authority.find('/') != std::string_view::npos) {
        return refuse(start +
                      "a scheme and host with an optional port, no path or trailing '/' "
                      "(browsers send https://app.example.com)");
    }
    const std::size_t colon = authority.rfind(':');
    const bool has_port =
        colon != std::string_view::npos && authority.find(']', colon) == std::string_view::npos;
    const std::string_view port = has_port ? authority.substr(colon + 1) : std::string_view{};
    const auto host = origin_host(has_port ? authority.substr(0, colon) : authority);
    if (!host) {
        return refuse(start +
                      "its host is no host name or IP address as browsers send them "
                      "(https://app.example.com, http://127.0.0.1, http://[::1])");
    }
    std::string out = std::string(scheme) + "://" + *host;
    if (has_port) {
        if (port.empty() || port.size() > 5 || !std::all_of(port.begin(), port.end(), is_digit) ||
            std::stoul(std::string(port)) > 65535) {
            return refuse(start + "its port is no number from 0 to 65535");
        }
        const std::string number = std::to_string(std::stoul(std::string(port)));
        const bool is_default =
            (scheme == "http" && number == "80") || (scheme == "https" && number == "443");
        if (!is_default) out += ":" + number;
    }
    return out;
}

}  // namespace

Result<std::string, std::string> as_allowed_origin(std::string_view s) {
    if (str::trim(s).empty()) return refuse("must be '*' or a comma-separated list of origins");
    if (str::trim(s) == "*") return std::string("*");
    // Browsers send the origin in lower case and it is compared byte for byte.
    std::string list;
    for (const std::string_view item : str::split(s, ',')) {
        auto origin = as_origin(str::to_lower(str::trim(item)));
        if (!origin) return origin;
        list += (list.empty() ? "" : ", ") + *origin;
    }
    return list;
}

namespace {

// `s` with none of `chars`, or `why` it may not hold them.
Result<std::string, std::string> without_any_of(std::string_view s, std::string_view chars,
                                                std::string_view why) {
    if (s.find_first_of(chars) != std::string_view::npos) return refuse(why);
    return std::string(s);
}

}  // namespace

// The router compares prefixes with the upstream path decoded and without its query, and
// suffixes with its last segment: a query, a fragment or an escape in one would not match as
// written, and a rule that silently does nothing is refused instead.
Result<std::string, std::string> as_path_prefix(std::string_view s) {
    if (s.empty() || s.front() != '/') return refuse("a path prefix must start with '/'");
    return without_any_of(s, "?#%",
                          "a path prefix is compared with the decoded path without its query: "
                          "no '?', '#' or '%'");
}

Result<std::string, std::string> as_segment_suffix(std::string_view s) {
    if (s.empty()) return refuse("must not be empty");
    return without_any_of(s, "/?#%",
                          "a suffix is compared with the decoded last segment of the path: no "
                          "'/', '?', '#' or '%'");
}

// No C0 control but tab, no DEL, and in UTF-8 no C1 control (U+0080 to U+009F, NEL among
// them) nor U+2028 / U+2029, the line and paragraph separators.
Result<std::string, std::string> as_one_line(std::string_view s) {
    for (std::size_t i = 0; i < s.size(); ++i) {
        const auto c = static_cast<unsigned char>(s[i]);
        const auto next = [&](std::size_t k) {
            return i + k < s.size() ? static_cast<unsigned char>(s[i + k]) : 0;
        };
        if ((c < ' ' && c != '\t') || c == 0x7f ||
            (c == 0xc2 && next(1) >= 0x80 && next(1) <= 0x9f) ||
            (c == 0xe2 && next(1) == 0x80 && (next(2) == 0xa8 || next(2) == 0xa9))) {
            return refuse("must be one line, without control characters");
        }
    }
    return std::string(s);
}

std::string printable(std::string_view s) {
    std::string out;
    for (char c : s) {
        if (static_cast<unsigned char>(c) >= ' ' && c != '\x7f') {
            out.push_back(c);
            continue;
        }
        char buf[8];
        std::snprintf(buf, sizeof buf, "\\x%02x",
                      static_cast<unsigned>(static_cast<unsigned char>(c)));
        out += buf;
    }
    return out;
}

}  // namespace llmgw::config
