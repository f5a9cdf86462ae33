#include "routing/target.hpp"

#include <algorithm>
#include <array>
#include <cstddef>
#include <optional>
#include <string>
#include <utility>

#include "util/strings.hpp"

namespace llmgw::routing {
namespace {

constexpr std::string_view kGatewayPrefix = "/gateway/";

Unexpected<TargetError> reject(std::string reason) {
    return unexpected(TargetError{std::move(reason)});
}

constexpr bool is_control(unsigned char c) { return c < 0x20 || c == 0x7f; }

// What one pass over a target's bytes tells: whether a raw byte rejects it (the message then
// comes from raw_byte_reason), and whether the escape, dot-segment, '@' and empty-segment
// checks must run. A target without '%', '\\', '@', '.' or "//" cannot fail them, so the common
// path skips them all.
struct ByteScan {
    bool bad_raw_byte = false;
    bool needs_segment_checks = false;
};

constexpr unsigned char kRawByte = 1;     // a control character, ' ' or '#'
constexpr unsigned char kSlash = 2;
constexpr unsigned char kSegmentByte = 4; // '%', '\\', '@', '.', or a '/' after a '/'
static_assert(kSlash << 1 == kSegmentByte);

constexpr std::array<unsigned char, 256> kByteClass = [] {
    std::array<unsigned char, 256> table{};
    for (int c = 0; c < 256; ++c) {
        if (is_control(static_cast<unsigned char>(c)) || c == ' ' || c == '#') table[c] = kRawByte;
    }
    table['/'] = kSlash;
    for (const char c : {'%', '\\', '@', '.'}) table[static_cast<unsigned char>(c)] = kSegmentByte;
    return table;
}();

ByteScan scan_bytes(std::string_view target) {
    unsigned char seen = 0;
    unsigned char previous = 0;
    for (const char ch : target) {
        const unsigned char kind = kByteClass[static_cast<unsigned char>(ch)];
        seen |= kind | static_cast<unsigned char>((kind & previous & kSlash) << 1);
        previous = kind;
    }
    return {(seen & kRawByte) != 0, (seen & kSegmentByte) != 0};
}

// Why a raw byte rejects the target (scan_bytes() found one): a control character, a space, or
// '#' (a fragment: a client must not send one, and libcurl would strip it from the upstream URL).
std::string raw_byte_reason(std::string_view target) {
    for (const char ch : target) {
        const auto c = static_cast<unsigned char>(ch);
        if (kByteClass[c] != kRawByte) continue;
        if (c == ' ') return "request target contains a space";
        if (c == '#') return "request target contains '#'";
        return "request target contains a control character";
    }
    return "request target contains a byte it may not";  // not reached after scan_bytes()
}

// Percent escapes in the path must be well formed and must not smuggle in a byte that
// would change how the path is split or where it leads.
std::optional<std::string> check_path_bytes(std::string_view path) {
    for (std::size_t i = 0; i < path.size(); ++i) {
        if (path[i] == '\\') return "path contains a backslash";
        if (path[i] != '%') continue;
        if (i + 2 >= path.size() || str::hex_value(path[i + 1]) < 0 ||
            str::hex_value(path[i + 2]) < 0) {
            return "path contains a malformed percent escape";
        }
        const int byte = str::hex_value(path[i + 1]) * 16 + str::hex_value(path[i + 2]);
        if (is_control(static_cast<unsigned char>(byte))) {
            return "path contains an encoded control character";
        }
        if (byte == '\\') return "path contains an encoded backslash";
        if (byte == '/') return "path contains an encoded slash";
        i += 2;
    }
    return std::nullopt;
}

// "." or ".." where any dot may be written %2e or %2E.
bool is_dot_segment(std::string_view segment, std::size_t& dots) {
    dots = 0;
    std::size_t i = 0;
    while (i < segment.size()) {
        if (segment[i] == '.') {
            i += 1;
        } else if (segment.substr(i, 3) == "%2e" || segment.substr(i, 3) == "%2E") {
            i += 3;
        } else {
            return false;
        }
        ++dots;
    }
    return dots == 1 || dots == 2;
}

bool contains_at_sign(std::string_view segment) {
    return segment.find('@') != std::string_view::npos || str::icontains(segment, "%40");
}

constexpr std::string_view kBadServiceChar =
    "service name may contain only letters, digits, '.', '_' and '-'";

bool is_service_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == '-';
}

std::optional<std::string> check_service(std::string_view service) {
    std::size_t dots = 0;
    if (is_dot_segment(service, dots)) {
        return dots == 1 ? "path contains a '.' segment" : "path contains a '..' segment";
    }
    if (contains_at_sign(service)) return "service name contains '@'";
    for (const char c : service) {
        if (!is_service_char(c)) return std::string(kBadServiceChar);
    }
    return std::nullopt;
}

// `rest` starts with '/'. A trailing empty segment ("/v1/models/") is legal; "//" is not.
std::optional<std::string> check_rest_segments(std::string_view rest) {
    std::size_t start = 1;
    bool first = true;
    for (;;) {
        const std::size_t slash = rest.find('/', start);
        const bool last = slash == std::string_view::npos;
        const std::string_view segment =
            rest.substr(start, last ? std::string_view::npos : slash - start);
        if (segment.empty() && !last) return "path contains an empty segment ('//')";
        std::size_t dots = 0;
        if (is_dot_segment(segment, dots)) {
            return dots == 1 ? "path contains a '.' segment" : "path contains a '..' segment";
        }
        if (first && contains_at_sign(segment)) return "path contains '@' in its first segment";
        if (last) return std::nullopt;
        first = false;
        start = slash + 1;
    }
}

Result<Target, TargetError> parse_gateway_path(Target target, std::string_view path,
                                               bool segment_checks) {
    if (segment_checks) {
        if (const auto bad = check_path_bytes(path)) return reject(*bad);
    }
    const std::string_view after = path.substr(kGatewayPrefix.size());
    const std::size_t slash = after.find('/');
    if (slash == 0) return reject("path contains an empty segment ('//')");
    target.service = after.substr(0, slash);
    if (segment_checks) {
        if (const auto bad = check_service(target.service)) return reject(*bad);
    } else if (!std::all_of(target.service.begin(), target.service.end(), is_service_char)) {
        return reject(std::string(kBadServiceChar));
    }
    if (slash == std::string_view::npos) {
        target.kind = TargetKind::gateway_bare;
        return target;
    }
    target.upstream_path = after.substr(slash);
    if (segment_checks) {
        if (const auto bad = check_rest_segments(target.upstream_path)) return reject(*bad);
    }
    target.kind = TargetKind::proxy;
    return target;
}

}  // namespace

Result<Target, TargetError> parse_target(std::string_view target) {
    // The absolute form ("http://host:port/gateway/…"), which a server must accept (RFC 9112
    // §3.2.2): its path is routed; the authority is not, as Host is not.
    for (const std::string_view scheme : {"http://", "https://"}) {
        if (!str::istarts_with(target, scheme)) continue;
        const std::size_t path = target.find_first_of("/?", scheme.size());
        if (std::min(path, target.size()) == scheme.size()) {
            return reject("request target has a scheme but no host");
        }
        if (path == std::string_view::npos) {
            target = "/";
        } else if (target[path] == '?') {
            return reject("request target has a query but no path");
        } else {
            target.remove_prefix(path);
        }
        break;
    }
    if (target.empty() || target.front() != '/') {
        return reject("request target must be a path starting with '/'");
    }
    const ByteScan scan = scan_bytes(target);
    if (scan.bad_raw_byte) return reject(raw_byte_reason(target));

    Target out;
    const std::size_t question = target.find('?');
    const std::string_view path = target.substr(0, question);
    if (question != std::string_view::npos) {
        out.has_query = true;
        out.query = target.substr(question + 1);
    }

    if (path == "/") {
        out.kind = TargetKind::root;
    } else if (path == "/health" || path == "/gateway/health") {
        out.kind = TargetKind::health;
    } else if (path == "/gateway" || path == kGatewayPrefix) {
        out.kind = TargetKind::gateway_bare;
    } else if (path.starts_with(kGatewayPrefix)) {
        return parse_gateway_path(out, path, scan.needs_segment_checks);
    } else {
        out.kind = TargetKind::unknown;
    }
    return out;
}

}  // namespace llmgw::routing
