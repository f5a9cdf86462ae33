// The return type of steps that change settings in place: nothing, or the error that stopped them.
#pragma once

#include <optional>

#include "config/config.hpp"

namespace llmgw::config {

using MaybeError = std::optional<ConfigError>;

}  // namespace llmgw::config
