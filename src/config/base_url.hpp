// Parsing of a service's base_url: scheme://host[:port][/base-path] (SPEC §1).
#pragma once

#include <string>
#include <string_view>

#include "config/service.hpp"
#include "util/result.hpp"

namespace llmgw::config {

// Accepts only http and https, no user info, no query or fragment. The result is canonical:
// lower-case scheme and host, default ports dropped, no trailing slash on the base path.
// The error is the reason alone, e.g. "scheme must be http or https".
Result<BaseUrl, std::string> parse_base_url(std::string_view text);

// "v1", "/v1/" and "/v1" all become "/v1"; "" and "/" become "".
std::string normalize_base_path(std::string_view path);

// Rebuilds BaseUrl::text from the other fields.
std::string format_base_url(const BaseUrl& url);

}  // namespace llmgw::config
