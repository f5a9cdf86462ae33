// PROXY_CONFIG: the original gateway's JSON service overrides (SPEC §10).
#pragma once

#include <string_view>
#include <vector>

#include "config/maybe_error.hpp"

namespace llmgw::config {

// Merges `json` ({"name":{"host","basePath","timeout","maxRetries","maxResponseSize",
// "retryableMethods","defaultHeaders","supportsStreaming","allowFallback"}}) into `table`
// field by field, over the TOML sources. Names match known services case-insensitively;
// a new service needs "host". Errors name the service and the field:
// "PROXY_CONFIG: service 'custom': field 'timeout' must be a positive integer".
MaybeError apply_proxy_config(std::vector<Service>& table, std::string_view json);

}  // namespace llmgw::config
