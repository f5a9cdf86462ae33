#include "server/cors.hpp"

#include "util/strings.hpp"

namespace llmgw::server {
namespace {

constexpr std::string_view kMethods = "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS";

}  // namespace

bool origin_listed(std::string_view allowed, std::string_view origin) {
    for (std::string_view item : str::split(allowed, ',')) {
        if (str::trim(item) == origin) return true;
    }
    return false;
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
