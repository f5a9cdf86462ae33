// CORS headers (SPEC §5): ALLOWED_ORIGIN is "*" or a comma-separated list of origins.
#pragma once

#include <string_view>

#include "util/headers.hpp"

namespace llmgw::server {

// Added to every response, gateway-made or proxied.
void add_cors_headers(Headers& out, std::string_view allowed_origin, const Headers& request);
// The full answer to a preflight OPTIONS (204).
Headers preflight_headers(std::string_view allowed_origin, const Headers& request);

}  // namespace llmgw::server
