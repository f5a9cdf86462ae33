// load_config: built-in table < user TOML < environment < flags (SPEC §10), merged field by field.
#include "config/config.hpp"

#include <algorithm>
#include <cstdlib>
#include <exception>

#include "config/env_loader.hpp"
#include "config/flags.hpp"
#include "config/proxy_config.hpp"
#include "config/toml_loader.hpp"
#include "config/user_file.hpp"
#include "util/strings.hpp"

namespace llmgw::config {
namespace {

// Names and aliases are looked up case-insensitively, so no two may be equal ignoring case.
MaybeError check_aliases(const std::vector<Service>& services) {
    std::vector<std::pair<std::string, const Service*>> seen;
    seen.reserve(services.size() * 2);
    for (const Service& s : services) seen.emplace_back(str::to_lower(s.name), &s);
    // Aliases the built-in table gives are taken first, so that a clash is reported where a
    // user file wrote the alias, whatever the names' order.
    std::vector<const Service*> order;
    for (const Service& s : services) order.push_back(&s);
    std::stable_partition(order.begin(), order.end(), [](const Service* s) {
        return s->aliases_at.empty() || s->aliases_at.starts_with(kBuiltinFile);
    });
    for (const Service* holder : order) {
        const Service& s = *holder;
        for (const std::string& alias : s.aliases) {
            const std::string lower = str::to_lower(alias);
            const auto other = std::find_if(seen.begin(), seen.end(),
                                            [&](const auto& e) { return e.first == lower; });
            // Where the aliases were written when a file set them, else where the service came
            // from (PROXY_CONFIG).
            const std::string where =
                s.aliases_at.empty()
                    ? "alias '" + alias + "' of service '" + s.name + "' (" + s.origin + ")"
                    : s.aliases_at + ": alias '" + alias + "' of service '" + s.name + "'";
            if (other != seen.end() && other->second == &s) {
                return ConfigError{where + " repeats its name or another of its aliases"};
            }
            if (other != seen.end()) {
                return ConfigError{where + " is already the name or an alias of service '" +
                                   other->second->name + "'"};
            }
            seen.emplace_back(lower, &s);
        }
    }
    return std::nullopt;
}

Result<Config, ConfigError> finish(Config draft) {
    const auto off = std::stable_partition(draft.services.begin(), draft.services.end(),
                                           [](const Service& s) { return s.enabled; });
    draft.disabled.assign(std::make_move_iterator(off),
                          std::make_move_iterator(draft.services.end()));
    draft.services.erase(off, draft.services.end());
    std::sort(draft.services.begin(), draft.services.end(),
              [](const Service& a, const Service& b) { return a.name < b.name; });
    if (auto error = check_aliases(draft.services)) return unexpected(std::move(*error));
    return draft;
}

Result<Config, ConfigError> load(const LoadOptions& options) {
    const EnvLookup env = options.env ? options.env : process_env();
    const FileReader read = options.read_file ? options.read_file : FileReader(read_real_file);
    Config draft;
    if (options.builtin_toml.empty()) {
        draft.services = builtin_service_table();
    } else if (auto e = apply_toml(draft, options.builtin_toml,
                                   {std::string(kBuiltinFile), "built-in"})) {
        return unexpected(*e);
    }
    auto user = find_user_file(options.config_flag, env, read);
    if (!user) return unexpected(user.error());
    if (*user) {
        const UserFile& file = **user;
        if (auto e = apply_toml(draft, file.text, {file.path, file.path})) return unexpected(*e);
        draft.user_file = file.path;
    }
    if (auto e = apply_env(draft.gateway, env)) return unexpected(*e);
    if (auto proxy = env("PROXY_CONFIG"); proxy && !str::trim(*proxy).empty()) {
        if (auto e = apply_proxy_config(draft.services, *proxy)) return unexpected(*e);
    }
    if (auto e = apply_flags(draft.gateway, options.flags)) return unexpected(*e);
    return finish(std::move(draft));
}

}  // namespace

namespace {

const Service* find_in(const std::vector<Service>& table, std::string_view name_or_alias) {
    for (const Service& s : table) {
        if (str::iequals(s.name, name_or_alias)) return &s;
    }
    for (const Service& s : table) {
        for (const std::string& alias : s.aliases) {
            if (str::iequals(alias, name_or_alias)) return &s;
        }
    }
    return nullptr;
}

}  // namespace

const Service* Config::find(std::string_view name_or_alias) const {
    return find_in(services, name_or_alias);
}

const Service* Config::find_disabled(std::string_view name_or_alias) const {
    return find_in(disabled, name_or_alias);
}

std::string Config::service_names() const {
    std::string names;
    for (const Service& s : services) {
        if (!names.empty()) names += ", ";
        names += s.name;
    }
    return names;
}

EnvLookup process_env() {
    return [](std::string_view name) -> std::optional<std::string> {
        const char* value = std::getenv(std::string(name).c_str());
        if (!value) return std::nullopt;
        return std::string(value);
    };
}

Result<Config, ConfigError> load_config(const LoadOptions& options) {
    // Setup code, not the request path: a stray exception (bad_alloc, a throwing reader)
    // becomes an ordinary configuration error instead of escaping.
    try {
        return load(options);
    } catch (const std::exception& e) {
        return unexpected(ConfigError{std::string("configuration: ") + e.what()});
    }
}

}  // namespace llmgw::config
