#include "server/host_field.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <array>
#include <cstring>

#include "util/strings.hpp"

namespace llmgw::server {
namespace {

// RFC 3986 unreserved and sub-delims: the bytes of a reg-name but its %XX escapes.
constexpr auto kRegNameChars = [] {
    std::array<bool, 256> table{};
    for (int c = 'a'; c <= 'z'; ++c) table[static_cast<std::size_t>(c)] = true;
    for (int c = 'A'; c <= 'Z'; ++c) table[static_cast<std::size_t>(c)] = true;
    for (int c = '0'; c <= '9'; ++c) table[static_cast<std::size_t>(c)] = true;
    for (const char c : std::string_view("-._~!$&'()*+,;="))
        table[static_cast<unsigned char>(c)] = true;
    return table;
}();

bool is_hex(char c) { return str::hex_value(c) >= 0; }

bool is_reg_name(std::string_view s) {
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (kRegNameChars[static_cast<unsigned char>(s[i])]) continue;
        if (s[i] != '%' || s.size() - i < 3 || !is_hex(s[i + 1]) || !is_hex(s[i + 2])) return false;
        i += 2;
    }
    return true;
}

bool is_port(std::string_view s) {
    for (const char c : s) {
        if (c < '0' || c > '9') return false;
    }
    return true;
}

// IPvFuture = "v" 1*HEXDIG "." 1*( unreserved / sub-delims / ":" )
bool is_ipv_future(std::string_view s) {
    std::size_t i = 1;
    while (i < s.size() && is_hex(s[i])) ++i;
    if (i == 1 || i >= s.size() || s[i] != '.' || i + 1 == s.size()) return false;
    for (++i; i < s.size(); ++i) {
        if (s[i] != ':' && !kRegNameChars[static_cast<unsigned char>(s[i])]) return false;
    }
    return true;
}

// The inside of "[...]": an IPv6 address in any of RFC 4291's text forms, or IPvFuture.
bool is_ip_literal(std::string_view s) {
    if (!s.empty() && (s[0] == 'v' || s[0] == 'V')) return is_ipv_future(s);
    char text[INET6_ADDRSTRLEN + 1];
    if (s.size() >= sizeof text) return false;
    std::memcpy(text, s.data(), s.size());
    text[s.size()] = '\0';
    in6_addr address{};
    return ::inet_pton(AF_INET6, text, &address) == 1;
}

}  // namespace

bool is_valid_host(std::string_view value) {
    if (!value.empty() && value.front() == '[') {
        const std::size_t close = value.find(']');
        if (close == std::string_view::npos || !is_ip_literal(value.substr(1, close - 1))) {
            return false;
        }
        const std::string_view rest = value.substr(close + 1);
        return rest.empty() || (rest.front() == ':' && is_port(rest.substr(1)));
    }
    const std::size_t colon = value.find(':');
    if (colon != std::string_view::npos && !is_port(value.substr(colon + 1))) return false;
    return is_reg_name(value.substr(0, colon));
}

}  // namespace llmgw::server
