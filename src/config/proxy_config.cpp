#include "config/proxy_config.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>
#include <optional>

#include "config/base_url.hpp"
#include "config/rules.hpp"
#include "config/toml_loader.hpp"
#include "util/redact.hpp"
#include "util/strings.hpp"

namespace llmgw::config {
namespace {

using nlohmann::json;

constexpr std::string_view kOrigin = "PROXY_CONFIG";

// host and basePath are combined once both are known.
struct Location {
    std::optional<std::string> host;
    std::optional<std::string> base_path;
};

// What a field handler reports: nothing, or the rest of the sentence after "field 'F' ".
using FieldError = std::optional<std::string>;
using FieldHandler = FieldError (*)(const json&, Service&, Location&);

constexpr std::int64_t kMaxInteger = std::numeric_limits<std::int64_t>::max();  // as in TOML

// A whole number a signed 64-bit integer cannot hold: an unsigned one over 2^63 - 1, or one
// written with more digits than 64 bits hold (nlohmann reads it as a double).
bool past_int64(const json& value) {
    if (value.is_number_unsigned()) {
        return value.get<std::uint64_t>() > static_cast<std::uint64_t>(kMaxInteger);
    }
    if (!value.is_number_float()) return false;
    const double d = value.get<double>();
    return std::fabs(d) >= 9223372036854775808.0 && d == std::floor(d);
}

// One past 64 bits is read as the nearest bound, which the field's range refuses.
std::optional<std::int64_t> whole_number(const json& value) {
    if (past_int64(value)) {
        return value.is_number_float() && value.get<double>() < 0
                   ? std::numeric_limits<std::int64_t>::min()
                   : kMaxInteger;
    }
    if (value.is_number_unsigned()) return static_cast<std::int64_t>(value.get<std::uint64_t>());
    if (value.is_number_integer()) return value.get<std::int64_t>();
    return std::nullopt;
}

FieldError read_string(const json& value, std::optional<std::string>& out) {
    if (!value.is_string()) return "must be a string";
    out = value.get<std::string>();
    return std::nullopt;
}

FieldError read_bool(const json& value, bool& out) {
    if (!value.is_boolean()) return "must be true or false";
    out = value.get<bool>();
    return std::nullopt;
}

FieldError on_timeout(const json& value, Service& s, Location&) {
    const auto n = whole_number(value);
    if (!n || *n < 1) return "must be a positive integer";
    if (*n > kMaxTimeoutMs) return "must be at most " + std::to_string(kMaxTimeoutMs);
    s.timeout_ms = *n;
    return std::nullopt;
}

FieldError on_max_retries(const json& value, Service& s, Location&) {
    const auto n = whole_number(value);
    if (!n || *n < 0) return "must be a non-negative integer";
    if (*n > 100) return "must be at most 100";
    s.max_retries = static_cast<int>(*n);
    return std::nullopt;
}

FieldError on_max_response_size(const json& value, Service& s, Location&) {
    const auto n = whole_number(value);
    if (!n || *n < 0) return "must be a non-negative integer";
    if (past_int64(value))
        return "must be at most " + std::to_string(kMaxInteger) + " (0: no limit)";
    s.max_response_bytes = static_cast<std::uint64_t>(*n);
    return std::nullopt;
}

FieldError on_methods(const json& value, Service& s, Location&) {
    if (!value.is_array()) return "must be an array of method names";
    std::vector<std::string> methods;
    for (const json& item : value) {
        if (!item.is_string()) return "must be an array of method names";
        auto method = as_method(item.get<std::string>());
        if (!method) {
            return "has a bad value '" + printable(item.get<std::string>()) +
                   "': " + method.error();
        }
        methods.push_back(std::move(*method));
    }
    s.retry_methods = std::move(methods);
    return std::nullopt;
}

FieldError on_headers(const json& value, Service& s, Location&) {
    if (!value.is_object()) return "must be an object of header names to strings";
    for (const auto& [name, header] : value.items()) {
        if (auto checked = as_service_header_name(name); !checked) {
            return "has a bad header name '" + printable(name) + "': " + checked.error();
        }
        for (const auto& [other, _] : value.items()) {
            if (other != name && str::iequals(other, name)) {
                return "names the header '" + printable(name) + "' twice, as '" + printable(other) +
                       "' too (header names ignore case)";
            }
        }
        if (!header.is_string()) return "must be an object of header names to strings";
        const auto text = header.get<std::string>();
        if (auto checked = as_header_value(text); !checked) {
            return "has a bad value for '" + printable(name) + "': " + checked.error();
        }
        if (text.empty()) {
            s.headers.remove(name);  // "" takes a built-in default away
        } else {
            s.headers.set(name, text);
        }
    }
    return std::nullopt;
}

FieldError on_host(const json& v, Service&, Location& l) { return read_string(v, l.host); }
FieldError on_base_path(const json& v, Service&, Location& l) {
    return read_string(v, l.base_path);
}
FieldError on_streaming(const json& v, Service& s, Location&) { return read_bool(v, s.streaming); }
FieldError on_fallback(const json& v, Service& s, Location&) { return read_bool(v, s.fallback); }

constexpr std::pair<std::string_view, FieldHandler> kFields[] = {
    {"host", on_host},
    {"basePath", on_base_path},
    {"timeout", on_timeout},
    {"maxRetries", on_max_retries},
    {"maxResponseSize", on_max_response_size},
    {"retryableMethods", on_methods},
    {"defaultHeaders", on_headers},
    {"supportsStreaming", on_streaming},
    {"allowFallback", on_fallback},
};

ConfigError service_error(std::string_view service, std::string_view message) {
    return {"PROXY_CONFIG: service '" + printable(service) + "': " + std::string(message)};
}

ConfigError field_error(std::string_view service, std::string_view field, std::string_view rest) {
    return service_error(service, "field '" + std::string(field) + "' " + std::string(rest));
}

std::string with_scheme(const std::string& host) {
    return host.find("://") == std::string::npos ? "https://" + host : host;
}

// host "api.x.com" means https://api.x.com; a host with its own path keeps it, and
// basePath ("v1" or "/v1") is appended to the host's path or replaces the old base path.
MaybeError apply_location(const std::string& name, const Location& loc, Service& s) {
    if (!loc.host && !loc.base_path) return std::nullopt;
    BaseUrl url = s.base_url;
    if (loc.host) {
        auto parsed = parse_base_url(with_scheme(*loc.host));
        if (!parsed) {
            return field_error(name, "host",
                               "has a bad value '" +
                                   printable(redact_userinfo_in_message(*loc.host)) +
                                   "': " + parsed.error());
        }
        if (parsed->base_path.empty() && !loc.base_path) parsed->base_path = url.base_path;
        url = std::move(*parsed);
    }
    if (loc.base_path) {
        url.base_path =
            (loc.host ? url.base_path : std::string()) + normalize_base_path(*loc.base_path);
        auto parsed = parse_base_url(format_base_url(url));
        if (!parsed) {
            return field_error(
                name, "basePath",
                "has a bad value '" + printable(*loc.base_path) + "': " + parsed.error());
        }
        url = std::move(*parsed);
    }
    url.text = format_base_url(url);
    s.base_url = std::move(url);
    return std::nullopt;
}

MaybeError apply_fields(const std::string& name, const json& fields, Service& s) {
    Location location;
    for (const auto& [field, value] : fields.items()) {
        const std::string_view wanted = field;  // structured bindings are not captured (clang < 16)
        const auto* known = std::find_if(std::begin(kFields), std::end(kFields),
                                         [wanted](const auto& f) { return f.first == wanted; });
        if (known == std::end(kFields)) {
            return service_error(name, "unknown field '" + printable(field) + "'");
        }
        if (auto rest = known->second(value, s, location)) return field_error(name, field, *rest);
    }
    return apply_location(name, location, s);
}

MaybeError apply_service(const std::string& name, const json& fields, std::vector<Service>& table) {
    if (!fields.is_object()) return service_error(name, "must be a JSON object of fields");
    const auto known = std::find_if(table.begin(), table.end(),
                                    [&](const Service& s) { return str::iequals(s.name, name); });
    if (known != table.end()) {
        // Its settings would vanish with it, and the request to it get a 404 nobody explains.
        if (!known->enabled) {
            return service_error(name, "is disabled (enabled = false, from " + known->origin + ")");
        }
        add_origin(*known, std::string(kOrigin));
        return apply_fields(name, fields, *known);
    }
    // Without a host, the alias of a disabled service means that service (alias_owner()
    // passes disabled ones by; with a host, the name is free for a new one, as in a TOML file).
    for (const Service& off : table) {
        if (!off.enabled && !fields.contains("host") &&
            std::any_of(off.aliases.begin(), off.aliases.end(),
                        [&](const std::string& a) { return str::iequals(a, name); })) {
            return service_error(name, "is an alias of service '" + off.name +
                                           "', which is disabled (enabled = false, from " +
                                           off.origin + ")");
        }
    }
    if (auto checked = as_service_name(name); !checked) return service_error(name, checked.error());
    if (const Service* owner = alias_owner(table, name)) {
        return service_error(name, "is an alias of service '" + owner->name + "': change it as '" +
                                       owner->name + "'");
    }
    if (!fields.contains("host")) return field_error(name, "host", "is required for a new service");
    Service added;
    added.name = name;
    added.origin = std::string(kOrigin);
    if (auto error = apply_fields(name, fields, added)) return error;
    table.push_back(std::move(added));
    return std::nullopt;
}

std::string without_exception_id(std::string_view what) {
    const std::size_t end = what.find("] ");
    if (!what.empty() && what.front() == '[' && end != std::string_view::npos) {
        what.remove_prefix(end + 2);
    }
    return std::string(what);
}

}  // namespace

MaybeError apply_proxy_config(std::vector<Service>& table, std::string_view text) {
    json root;
    // nlohmann keeps the last of two equal keys of an object, and RFC 8259 §4 leaves them
    // undefined; a TOML file refuses them, and so does PROXY_CONFIG. Service names ignore case.
    // The keys of each open object so far; nullopt for an open array.
    std::vector<std::optional<std::vector<std::string>>> open;
    std::optional<std::string> repeated;
    bool repeated_service = false;
    const auto note_keys = [&](int /*depth*/, json::parse_event_t event, json& parsed) {
        using Event = json::parse_event_t;
        if (event == Event::object_start) open.emplace_back(std::vector<std::string>{});
        if (event == Event::array_start) open.emplace_back(std::nullopt);
        if ((event == Event::object_end || event == Event::array_end) && !open.empty()) {
            open.pop_back();
        }
        if (event == Event::key && !open.empty() && open.back() && !repeated) {
            const bool services = open.size() == 1;  // the root object's keys
            const std::string& written = parsed.get_ref<const std::string&>();
            const std::string key = services ? str::to_lower(written) : written;
            auto& keys = *open.back();
            if (std::find(keys.begin(), keys.end(), key) != keys.end()) {
                repeated = written;
                repeated_service = services;
            }
            keys.push_back(key);
        }
        return true;
    };
    try {
        root = json::parse(text, note_keys);
    } catch (const json::exception& e) {
        // Not the token the parser last read: it may be a key ("Bearer sk-…" with a CR).
        std::string what = without_exception_id(e.what());
        what = what.substr(0, what.find("; last read:"));
        return ConfigError{"PROXY_CONFIG: invalid JSON: " + what};
    }
    if (repeated) {
        return ConfigError{"PROXY_CONFIG: '" + printable(*repeated) +
                           "' is given twice in one object" +
                           (repeated_service ? " (service names ignore case)" : "")};
    }
    if (!root.is_object()) return ConfigError{"PROXY_CONFIG: must be a JSON object of services"};
    for (const auto& [name, fields] : root.items()) {
        if (auto error = apply_service(name, fields, table)) return error;
    }
    return std::nullopt;
}

}  // namespace llmgw::config
