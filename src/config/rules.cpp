#include "config/rules.hpp"

#include <algorithm>
#include <cstdio>

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
    return str::to_upper(s);
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
    return std::string(s);
}

Result<std::string, std::string> as_allowed_origin(std::string_view s) {
    const auto control = [](char c) { return static_cast<unsigned char>(c) < ' '; };
    if (str::trim(s).empty() || std::any_of(s.begin(), s.end(), control)) {
        return refuse("must be '*' or a comma-separated list of origins");
    }
    return std::string(str::trim(s));
}

Result<std::string, std::string> as_path_prefix(std::string_view s) {
    if (s.empty() || s.front() != '/') return refuse("a path prefix must start with '/'");
    return std::string(s);
}

Result<std::string, std::string> as_non_empty(std::string_view s) {
    if (s.empty()) return refuse("must not be empty");
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
