// The environment variables of the original gateway (SPEC §10), over the TOML settings.
#pragma once

#include "config/maybe_error.hpp"

namespace llmgw::config {

// Reads ALLOWED_ORIGIN, DEFAULT_TIMEOUT, BACKGROUND_TIMEOUT, MAX_RESPONSE_SIZE, ENABLE_RETRY,
// ENABLE_FALLBACK and LOG_LEVEL. An empty variable counts as unset (as in the original,
// whose `process.env.X || default` did the same). A value that does not parse is an error
// naming the variable and the value: "DEFAULT_TIMEOUT='abc': not a whole number of milliseconds".
MaybeError apply_env(GatewaySettings& gateway, const EnvLookup& env);

}  // namespace llmgw::config
