#include "server/cors.hpp"

#include "util/strings.hpp"

namespace llmgw::server {
namespace {

constexpr std::string_view kExposed =
    "X-Request-Id, X-Gateway-Request-Id, X-Processing-Mode, X-Processing-Time, X-Fallback";
constexpr std::string_view kMethods = "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS";

bool origin_listed(std::string_view allowed, std::string_view origin) {
    for (std::string_view item : str::split(allowed, ',')) {
        if (str::trim(item) == origin) return true;
    }
    return false;
}

}  // namespace

void add_cors_headers(Headers& out, std::string_view allowed_origin, const Headers& request) {
    allowed_origin = str::trim(allowed_origin);
    if (allowed_origin == "*") {
        out.add("Access-Control-Allow-Origin", "*");
    } else {
        out.add("Vary", "Origin");
        const auto origin = request.get("origin");
        if (origin && origin_listed(allowed_origin, *origin)) {
            out.add("Access-Control-Allow-Origin", *origin);
        }
    }
    out.add("Access-Control-Expose-Headers", kExposed);
}

Headers preflight_headers(std::string_view allowed_origin, const Headers& request) {
    Headers h;
    add_cors_headers(h, allowed_origin, request);
    h.add("Access-Control-Allow-Methods", kMethods);
    const auto requested = request.get("access-control-request-headers");
    h.add("Access-Control-Allow-Headers", requested ? *requested : std::string_view("*"));
    h.add("Access-Control-Max-Age", "86400");
    return h;
}

}  // namespace llmgw::server
