// CORS headers (SPEC §5): ALLOWED_ORIGIN is "*" or a comma-separated list of origins.
#pragma once

#include <string>
#include <string_view>

#include "util/headers.hpp"
#include "util/strings.hpp"

namespace llmgw::server {

// Whether `origin` is one of the comma-separated `allowed` origins.
bool origin_listed(std::string_view allowed, std::string_view origin);

// A field of fixed words: a HeadWriter need not check it again (Headers check nothing).
template <class Out>
void add_fixed(Out& out, std::string_view name, std::string_view value) {
    if constexpr (requires { out.add_own(name, value); }) {
        out.add_own(name, value);
    } else {
        out.add(name, value);
    }
}

// The fields a browser may read: x-should-retry, Retry-After and retry-after-ms too, which a
// browser SDK reads to decide on a retry.
inline constexpr std::string_view kExposedFields =
    "X-Request-Id, X-Gateway-Request-Id, X-Processing-Mode, X-Processing-Time, X-Fallback, "
    "x-should-retry, Retry-After, retry-after-ms";

// Appends to `names` (", "-separated) each name of an upstream's Access-Control-Expose-Headers
// `value` that neither kExposedFields nor `names` holds yet (in any case).
void add_exposed_names(std::string& names, std::string_view value);

// Added to every response, gateway-made or proxied. `Out` is Headers or a HeadWriter.
// `upstream_exposed`: the names a proxied answer's own Access-Control-Expose-Headers gave
// (Anthropic's request-id, the x-ratelimit-* fields; add_exposed_names), exposed too: the
// upstream's CORS fields are replaced by these, and a browser could read none of them.
template <class Out>
void add_cors_headers(Out& out, std::string_view allowed_origin, const Headers& request,
                      std::string_view upstream_exposed = {}) {
    allowed_origin = str::trim(allowed_origin);
    if (allowed_origin == "*") {
        add_fixed(out, "Access-Control-Allow-Origin", "*");
    } else {
        add_fixed(out, "Vary", "Origin");
        const auto origin = request.get("origin");
        if (origin && origin_listed(allowed_origin, *origin)) {
            out.add("Access-Control-Allow-Origin", *origin);  // the client's bytes: checked
        }
    }
    if (upstream_exposed.empty()) {
        add_fixed(out, "Access-Control-Expose-Headers", kExposedFields);
    } else {
        out.add("Access-Control-Expose-Headers",  // the upstream's bytes: checked
                std::string(kExposedFields) + ", " + std::string(upstream_exposed));
    }
}
// The full answer to a preflight OPTIONS (204).
Headers preflight_headers(std::string_view allowed_origin, const Headers& request);

}  // namespace llmgw::server
