// The [services.NAME] tables of a TOML document.
#include <algorithm>
#include <limits>
#include <optional>

#include "config/base_url.hpp"
#include "config/toml_loader.hpp"
#include "util/strings.hpp"

namespace llmgw::config {
namespace {

constexpr std::int64_t kNoMax = std::numeric_limits<std::int64_t>::max();
constexpr int kMaxRetries = 100;

TomlSetter set_base_url(const TomlReader& reader, BaseUrl& out) {
    return [&reader, &out](const TomlField& field) -> MaybeError {
        auto text = reader.string(field);
        if (!text) return text.error();
        auto url = parse_base_url(*text);
        if (!url) return reader.bad_value(field, *text, url.error());
        out = std::move(*url);
        return std::nullopt;
    };
}

// Header by header, so a user file can add or change one default header and keep the others.
// Another key of `table` that names the header `name` names, in another case: toml++ keeps
// keys in sorted order, so which of the two would win is not the order written.
std::optional<std::string> same_header_twice(const toml::table& table, std::string_view name) {
    for (auto&& [other, node] : table) {
        if (other.str() != name && str::iequals(other.str(), name)) return std::string(other.str());
    }
    return std::nullopt;
}

TomlSetter merge_headers(const TomlReader& reader, Headers& out, const std::string& section) {
    return [&reader, &out, section](const TomlField& field) -> MaybeError {
        const toml::table* table = field.node.as_table();
        if (!table) return reader.wrong_type(field, "a table of strings");
        const std::string inner = section + ".headers";
        for (auto&& [key, node] : *table) {
            const TomlField header{key, node, inner};
            if (auto name = as_service_header_name(key.str()); !name) {
                return reader.error_at(key.source(), "bad header name '" + printable(key.str()) +
                                                         "' in [" + inner + "]: " + name.error());
            }
            if (const auto twin = same_header_twice(*table, key.str())) {
                return reader.error_at(key.source(), "header '" + printable(key.str()) +
                                                         "' is given twice in [" + inner +
                                                         "], as '" + printable(*twin) +
                                                         "' too (header names ignore case)");
            }
            auto value = reader.string(header, as_header_value);
            if (!value) return value.error();
            if (value->empty()) {
                out.remove(key.str());  // "" takes a built-in default away
            } else {
                out.set(key.str(), *value);
            }
        }
        return std::nullopt;
    };
}

// "" (none: the built-in entry's key turned off), else what `check` takes.
template <Result<std::string, std::string> (*check)(std::string_view)>
Result<std::string, std::string> or_empty(std::string_view s) {
    if (s.empty()) return std::string();
    return check(s);
}

std::vector<TomlKey> service_keys(const TomlReader& r, Service& s, const std::string& section) {
    return {
        {"base_url", set_base_url(r, s.base_url)},
        {"aliases",
         [&r, &s, set = set_strings(r, s.aliases, as_service_name)](const TomlField& field) {
             s.aliases_at = r.position(field.node.source());
             return set(field);
         }},
        {"headers", merge_headers(r, s.headers, section)},
        {"timeout_ms", set_integer(r, s.timeout_ms, 1, kMaxTimeoutMs)},
        {"max_retries", set_integer(r, s.max_retries, 0, kMaxRetries)},
        {"retry_methods", set_strings(r, s.retry_methods, as_method)},
        {"max_response_bytes", set_integer(r, s.max_response_bytes, 0, kNoMax)},
        {"streaming", set_bool(r, s.streaming)},
        {"fallback", set_bool(r, s.fallback)},
        {"enabled", set_bool(r, s.enabled)},
        {"description", set_string(r, s.description, as_one_line)},
        {"api_key_env", set_string(r, s.auth.env, or_empty<as_env_name>)},
        {"api_key_header", set_string(r, s.auth.header, or_empty<as_service_header_name>)},
        {"api_key_prefix", set_string(r, s.auth.prefix, as_header_value)},
    };
}

MaybeError apply_service(const TomlReader& reader, const TomlField& field,
                         std::vector<Service>& table, const std::string& origin) {
    const std::string name(field.key.str());
    if (auto checked = as_service_name(name); !checked) {
        return reader.error_at(field.key.source(), "bad service name '" + printable(name) +
                                                       "' in [services]: " + checked.error());
    }
    const toml::table* fields = field.node.as_table();
    if (!fields) return reader.wrong_type(field, "a table");
    const std::string section = "services." + name;
    const auto known =
        std::find_if(table.begin(), table.end(), [&](const Service& s) { return s.name == name; });
    if (known != table.end()) {
        if (!fields->empty()) add_origin(*known, origin);
        return apply_table(reader, *fields, section, service_keys(reader, *known, section));
    }
    if (const Service* owner = alias_owner(table, name)) {
        return reader.error_at(field.key.source(), "'" + name + "' is an alias of service '" +
                                                       owner->name + "': change it as [services." +
                                                       owner->name + "]");
    }
    if (!fields->contains("base_url")) {
        return reader.error_at(field.node.source(),
                               "new service [" + section + "] needs a base_url");
    }
    Service added;
    added.name = name;
    added.origin = origin;
    if (auto error = apply_table(reader, *fields, section, service_keys(reader, added, section))) {
        return error;
    }
    table.push_back(std::move(added));
    return std::nullopt;
}

}  // namespace

MaybeError apply_services(const TomlReader& reader, const toml::table& services,
                          std::vector<Service>& table, const std::string& origin) {
    for (auto&& [key, node] : services) {
        if (auto error = apply_service(reader, TomlField{key, node, "services"}, table, origin)) {
            return error;
        }
    }
    return std::nullopt;
}

}  // namespace llmgw::config
