// Command-line flags: the last and strongest source of settings (SPEC §10).
#pragma once

#include "config/maybe_error.hpp"

namespace llmgw::config {

// Applies the flags that were given; a bad value is an error naming the flag:
// "--log-level 'loud': not a log level (use debug, info, warn or error)".
MaybeError apply_flags(GatewaySettings& gateway, const FlagOverrides& flags);

}  // namespace llmgw::config
