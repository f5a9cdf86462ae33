// A fake environment and filesystem for load_config tests.
#pragma once

#include <map>
#include <string>

#include "config/config.hpp"

namespace llmgw::test {

struct FakeSystem {
    std::map<std::string, std::string> env;
    std::map<std::string, std::string> files;
    std::string builtin = std::string(config::builtin_services_toml());

    // The options borrow this object, which must outlive them.
    config::LoadOptions options() const {
        config::LoadOptions o;
        o.builtin_toml = builtin;
        o.env = [this](std::string_view name) -> std::optional<std::string> {
            const auto it = env.find(std::string(name));
            if (it == env.end()) return std::nullopt;
            return it->second;
        };
        o.read_file = [this](const std::string& path) -> std::optional<std::string> {
            const auto it = files.find(path);
            if (it == files.end()) return std::nullopt;
            return it->second;
        };
        return o;
    }

    Result<config::Config, config::ConfigError> load(
        const config::FlagOverrides& flags = {},
        std::optional<std::string> config_flag = {}) const {
        config::LoadOptions o = options();
        o.flags = flags;
        o.config_flag = std::move(config_flag);
        return config::load_config(o);
    }

    // Loads with a user file at /u.toml (via --config) and returns the error message, or "".
    std::string error_with_file(const std::string& text) {
        files["/u.toml"] = text;
        auto result = load({}, "/u.toml");
        return result ? std::string() : result.error().message;
    }

    std::string error() const {
        auto result = load();
        return result ? std::string() : result.error().message;
    }
};

}  // namespace llmgw::test
