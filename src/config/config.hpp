// The merged configuration: built-in table + user TOML + environment + flags (SPEC §10).
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/service.hpp"
#include "config/settings.hpp"
#include "util/result.hpp"

namespace llmgw::config {

struct Config {
    GatewaySettings gateway;
    RoutingSettings routing;
    std::vector<Service> services;  // enabled services only, sorted by name
    std::vector<Service> disabled;  // enabled = false: an error names them as such
    std::string user_file;          // the override file that was applied, or empty

    // By name or alias, case-insensitive; nullptr when unknown.
    const Service* find(std::string_view name_or_alias) const;
    // The same among the disabled services.
    const Service* find_disabled(std::string_view name_or_alias) const;
    // "openai, anthropic, …" for error messages.
    std::string service_names() const;
};

// A configuration error: the message is complete and ready for stderr,
// e.g. "config.toml:3:1: unknown key 'timout_ms' in [services.openai]".
struct ConfigError {
    std::string message;
};

// Command-line flags that override settings (unset: not given).
struct FlagOverrides {
    std::optional<std::string> host;
    std::optional<std::uint16_t> port;
    std::optional<std::string> log_level;
    std::optional<std::string> log_format;
    std::optional<int> threads;
    std::optional<std::int64_t> drain_timeout_ms;
};

using EnvLookup = std::function<std::optional<std::string>(std::string_view)>;
EnvLookup process_env();

struct LoadOptions {
    std::string_view builtin_toml;            // TOML text; empty: builtin_service_table()
    std::optional<std::string> config_flag;   // --config FILE
    EnvLookup env;                            // environment (process_env() or a fake)
    FlagOverrides flags;
    // Reads a whole file; nullopt when it cannot be read, with errno saying why (left as
    // ENOENT, a missing file, by a reader that does not set it). Defaults to the real
    // filesystem.
    std::function<std::optional<std::string>(const std::string&)> read_file;
};

Result<Config, ConfigError> load_config(const LoadOptions& options);

// The built-in table text compiled into the binary.
std::string_view builtin_services_toml();

// The services that reading builtin_services_toml() gives, read at build time
// (builtin_table_gen.cpp): disabled ones kept, in the order apply_toml leaves them (by name, as
// toml++ holds a table's keys), as the draft a user file then merges into.
std::vector<Service> builtin_service_table();

}  // namespace llmgw::config
