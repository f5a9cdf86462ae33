#include "routing/target.hpp"

#include <algorithm>
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

bool is_control(unsigned char c) { return c < 0x20 || c == 0x7f; }

// Raw bytes that are never acceptable anywhere in a request target. '#' starts a fragment,
// which a client must not send and which libcurl would strip from the upstream URL.
std::optional<std::string> check_raw_bytes(std::string_view target) {
    for (const char ch : target) {
        const auto c = static_cast<unsigned char>(ch);
        if (is_control(c)) return "request target contains a control character";
        if (c == ' ') return "request target contains a space";
        if (c == '#') return "request target contains '#'";
    }
    return std::nullopt;
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

// A target without '%', '\\', '@', '.' or "//" cannot fail the escape, dot-segment, '@' and
// empty-segment checks, so one pass over its bytes lets the common path skip them all.
bool needs_segment_checks(std::string_view target) {
    char previous = 0;
    for (const char c : target) {
        if (c == '%' || c == '\\' || c == '@' || c == '.' || (c == '/' && previous == '/')) return true;
        previous = c;
    }
    return false;
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
    if (target.empty() || target.front() != '/') {
        return reject("request target must be a path starting with '/'");
    }
    if (const auto bad = check_raw_bytes(target)) return reject(*bad);

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
        return parse_gateway_path(out, path, needs_segment_checks(target));
    } else {
        out.kind = TargetKind::unknown;
    }
    return out;
}

}  // namespace llmgw::routing
