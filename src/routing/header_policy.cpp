#include "routing/header_policy.hpp"

#include <algorithm>

#include "util/strings.hpp"

namespace llmgw::routing {
namespace {

using str::iequals;

// RFC 9110 §7.6.1, plus the older Proxy-Connection and Proxy-Authenticate (RFC 2616 §13.5.1)
// that clients and servers still send. Matched by length first: one comparison per header
// rather than one per name (this runs for every field of every request and response).
bool hop_by_hop(std::string_view n) {
    switch (n.size()) {
        case 2: return iequals(n, "te");
        case 7: return iequals(n, "trailer") || iequals(n, "upgrade");
        case 10: return iequals(n, "connection") || iequals(n, "keep-alive");
        case 16: return iequals(n, "proxy-connection");
        case 17: return iequals(n, "transfer-encoding");
        case 18: return iequals(n, "proxy-authenticate");
        case 19: return iequals(n, "proxy-authorization");
        default: return false;
    }
}

// Request headers that describe the client's connection or identity; the upstream client
// (native or libcurl) sets Host and Content-Length itself. Also every x-forwarded-*, cf-* and
// x-vercel-* header.
bool dropped_request_name(std::string_view n) {
    switch (n.size()) {
        case 4: if (iequals(n, "host")) return true; break;
        case 6: if (iequals(n, "cookie")) return true; break;
        case 9: if (iequals(n, "forwarded") || iequals(n, "x-real-ip")) return true; break;
        case 14: if (iequals(n, "content-length") || iequals(n, "true-client-ip")) return true; break;
        default: break;
    }
    return str::istarts_with(n, "x-forwarded-") || str::istarts_with(n, "cf-") ||
           str::istarts_with(n, "x-vercel-");
}

// SPEC §5's list, and the gateway's own fields: an upstream that is a gateway too (another
// llmgw) would otherwise have them twice in the answer, with two values.
bool dropped_response_name(std::string_view n) {
    switch (n.size()) {
        case 6: return iequals(n, "server") || iequals(n, "cf-ray");
        case 10:
            return iequals(n, "set-cookie") || iequals(n, "x-fallback");
        case 12: return iequals(n, "x-powered-by");
        case 15: return iequals(n, "cf-cache-status");
        case 17:
            return iequals(n, "x-processing-mode") || iequals(n, "x-processing-time");
        case 20:
            return iequals(n, "x-gateway-request-id");
        default: return false;
    }
}

}  // namespace

bool is_hop_by_hop(std::string_view name) { return hop_by_hop(name); }

ConnectionOptions::ConnectionOptions(const Headers& fields) {
    for (const HeaderField field : fields) {
        if (!iequals(field.name, "Connection")) continue;
        for (const std::string_view option : str::split(field.value, ',')) {
            const std::string_view name = str::trim(option);
            if (!name.empty()) names_.push_back(str::to_lower(name));
        }
    }
    std::sort(names_.begin(), names_.end());
}

bool ConnectionOptions::lists(std::string_view name) const {
    if (names_.empty()) return false;
    // names_ is lower case: compare `name` folded, byte by byte, without a copy.
    const auto folded_less = [](std::string_view a, std::string_view b) {
        return std::lexicographical_compare(
            a.begin(), a.end(), b.begin(), b.end(),
            // As std::string sorts: bytes compared unsigned.
            [](char x, char y) {
                return static_cast<unsigned char>(str::ascii_lower(x)) <
                       static_cast<unsigned char>(str::ascii_lower(y));
            });
    };
    const auto it = std::lower_bound(
        names_.begin(), names_.end(), name,
        [&](const std::string& n, std::string_view v) { return folded_less(n, v); });
    return it != names_.end() && iequals(*it, name);
}

bool is_dropped_response_header(std::string_view name) {
    return hop_by_hop(name) || dropped_response_name(name);
}

Headers upstream_request_headers(const Headers& client, const config::Service& service,
                                 std::string_view request_id) {
    Headers out;
    out.reserve(client.size() + service.headers.size() + 2, Headers::kTypicalBytes);
    bool request_id_set = false;
    // Options a Connection header names are hop-by-hop too; most requests have none to look up.
    const ConnectionOptions options(client);
    for (const HeaderField field : client) {
        if (hop_by_hop(field.name) || dropped_request_name(field.name) ||
            options.lists(field.name)) {
            continue;
        }
        // The gateway's id replaces the client's, in the client's position.
        if (str::iequals(field.name, "X-Request-Id")) {
            if (!request_id_set) out.add(field.name, request_id);
            request_id_set = true;
            continue;
        }
        out.add(field.name, field.value);
    }
    if (!request_id_set) out.add("X-Request-Id", request_id);
    for (const HeaderField field : service.headers) {
        if (!out.contains(field.name)) out.add(field.name, field.value);
    }
    if (!out.contains("User-Agent")) out.add("User-Agent", "llmgw/" LLMGW_VERSION);
    return out;
}

}  // namespace llmgw::routing
