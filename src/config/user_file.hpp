// Finding the user's override file (SPEC §1): --config, $LLMGW_CONFIG, then the XDG location.
#pragma once

#include <optional>
#include <string>

#include "config/config.hpp"

namespace llmgw::config {

struct UserFile {
    std::string path;
    std::string text;
};

using FileReader = std::function<std::optional<std::string>(const std::string&)>;

// The file named by --config or $LLMGW_CONFIG must be readable ("FILE: cannot read file: why").
// Otherwise $XDG_CONFIG_HOME/llmgw/config.toml, or ~/.config/llmgw/config.toml when
// XDG_CONFIG_HOME is unset or empty, is used when it exists; one that exists and cannot be
// read (a directory, no permission) is an error too, not a table silently left out. nullopt
// when none applies.
Result<std::optional<UserFile>, ConfigError> find_user_file(
    const std::optional<std::string>& config_flag, const EnvLookup& env, const FileReader& read);

// Reads a whole file (a pipe too, waiting for its writer: --config <(…)); nullopt with errno set
// when it is missing, a directory, unreadable or over 16 MiB.
std::optional<std::string> read_real_file(const std::string& path);

}  // namespace llmgw::config
