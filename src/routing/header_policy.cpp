#include "routing/header_policy.hpp"

#include <array>

#include "util/strings.hpp"

namespace llmgw::routing {
namespace {

// RFC 9110 §7.6.1, plus the older Proxy-Connection and Proxy-Authenticate (RFC 2616 §13.5.1)
// that clients and servers still send.
constexpr std::array<std::string_view, 9> kHopByHop{"connection",
                                                    "keep-alive",
                                                    "proxy-connection",
                                                    "proxy-authenticate",
                                                    "proxy-authorization",
                                                    "te",
                                                    "trailer",
                                                    "transfer-encoding",
                                                    "upgrade"};

// Request headers that describe the client's connection or identity; the upstream client
// (native or libcurl) sets Host and Content-Length itself.
constexpr std::array<std::string_view, 6> kDroppedRequest{
    "host", "content-length", "cookie", "forwarded", "x-real-ip", "true-client-ip"};
constexpr std::array<std::string_view, 3> kDroppedRequestPrefixes{"x-forwarded-", "cf-",
                                                                  "x-vercel-"};

constexpr std::array<std::string_view, 5> kDroppedResponse{"server", "x-powered-by", "cf-ray",
                                                           "cf-cache-status", "set-cookie"};

template <std::size_t N>
bool is_one_of(std::string_view name, const std::array<std::string_view, N>& names) {
    for (const std::string_view candidate : names) {
        if (str::iequals(name, candidate)) return true;
    }
    return false;
}

// True when a Connection header of the client lists `name` as a connection option.
bool named_by_connection(const Headers& client, std::string_view name) {
    for (const HeaderField& field : client) {
        if (!str::iequals(field.name, "Connection")) continue;
        for (const std::string_view option : str::split(field.value, ',')) {
            if (str::iequals(str::trim(option), name)) return true;
        }
    }
    return false;
}

bool is_dropped_request_header(const Headers& client, std::string_view name) {
    if (is_hop_by_hop(name) || is_one_of(name, kDroppedRequest)) return true;
    for (const std::string_view prefix : kDroppedRequestPrefixes) {
        if (str::istarts_with(name, prefix)) return true;
    }
    return named_by_connection(client, name);
}

}  // namespace

bool is_hop_by_hop(std::string_view name) { return is_one_of(name, kHopByHop); }

bool is_dropped_response_header(std::string_view name) {
    return is_hop_by_hop(name) || is_one_of(name, kDroppedResponse);
}

Headers upstream_request_headers(const Headers& client, const config::Service& service,
                                 std::string_view request_id) {
    Headers out;
    out.reserve(client.size() + service.headers.size() + 2, 1024);
    bool request_id_set = false;
    for (const HeaderField& field : client) {
        if (is_dropped_request_header(client, field.name)) continue;
        // The gateway's id replaces the client's, in the client's position.
        if (str::iequals(field.name, "X-Request-Id")) {
            if (!request_id_set) out.add(field.name, request_id);
            request_id_set = true;
            continue;
        }
        out.add(field.name, field.value);
    }
    if (!request_id_set) out.add("X-Request-Id", request_id);
    for (const HeaderField& field : service.headers) {
        if (!out.contains(field.name)) out.add(field.name, field.value);
    }
    if (!out.contains("User-Agent")) out.add("User-Agent", "llmgw/" LLMGW_VERSION);
    return out;
}

}  // namespace llmgw::routing
