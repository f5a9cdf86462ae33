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

namespace {

bool names_hold(std::string_view names, std::string_view name) {
    for (const std::string_view item : str::split(names, ',')) {
        if (str::iequals(str::trim(item), name)) return true;
    }
    return false;
}

}  // namespace

void add_exposed_names(std::string& names, std::string_view value) {
    for (std::string_view name : str::split(value, ',')) {
        name = str::trim(name);
        if (name.empty() || names_hold(kExposedFields, name) || names_hold(names, name)) continue;
        if (!names.empty()) names += ", ";
        names += name;
    }
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
