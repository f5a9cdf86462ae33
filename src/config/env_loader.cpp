#include "config/env_loader.hpp"

#include <algorithm>
#include <cstdint>
#include <limits>
#include <string>

#include "config/rules.hpp"
#include "util/strings.hpp"

namespace llmgw::config {
namespace {

// A variable's trimmed value; unset and empty are the same.
std::optional<std::string> lookup(const EnvLookup& env, std::string_view name) {
    std::optional<std::string> value = env(name);
    if (!value) return std::nullopt;
    std::string trimmed(str::trim(*value));
    if (trimmed.empty()) return std::nullopt;
    return trimmed;
}

ConfigError bad(std::string_view name, std::string_view value, std::string_view reason) {
    return {std::string(name) + "='" + printable(value) + "': " + std::string(reason)};
}

// A number too large for 64 bits is still a number: read as the largest, which every
// range check refuses with its bound (before: "not a whole number").
std::optional<std::uint64_t> too_large_as_max(std::optional<std::uint64_t> parsed,
                                              std::string_view text) {
    if (parsed || text.empty() ||
        !std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; })) {
        return parsed;
    }
    return std::numeric_limits<std::uint64_t>::max();
}

MaybeError read_millis(const EnvLookup& env, std::string_view name, std::int64_t max,
                       std::int64_t& out) {
    const auto value = lookup(env, name);
    if (!value) return std::nullopt;
    const auto number = too_large_as_max(str::parse_u64(*value), *value);
    if (!number) return bad(name, *value, "not a whole number of milliseconds");
    if (*number == 0) return bad(name, *value, "must be at least 1 millisecond");
    if (*number > static_cast<std::uint64_t>(max)) {
        return bad(name, *value, "must be at most " + std::to_string(max) + " milliseconds");
    }
    out = static_cast<std::int64_t>(*number);
    return std::nullopt;
}

MaybeError read_bytes(const EnvLookup& env, std::string_view name, std::uint64_t& out) {
    const auto value = lookup(env, name);
    if (!value) return std::nullopt;
    const auto number = too_large_as_max(str::parse_u64(*value), *value);
    if (!number) return bad(name, *value, "not a whole number of bytes");
    // As in the TOML file, whose integers are signed 64-bit.
    constexpr auto kMaxBytes = static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
    if (*number > kMaxBytes)
        return bad(name, *value, "more than " + std::to_string(kMaxBytes) + " bytes");
    out = *number;
    return std::nullopt;
}

MaybeError read_bool(const EnvLookup& env, std::string_view name, bool& out) {
    const auto value = lookup(env, name);
    if (!value) return std::nullopt;
    const auto flag = str::parse_bool(*value);
    if (!flag) return bad(name, *value, "not a boolean (use true/false, 1/0, yes/no or on/off)");
    out = *flag;
    return std::nullopt;
}

MaybeError read_string(const EnvLookup& env, std::string_view name, const Convert& convert,
                       std::string& out) {
    const auto value = lookup(env, name);
    if (!value) return std::nullopt;
    auto converted = convert(*value);
    if (!converted) return bad(name, *value, converted.error());
    out = std::move(*converted);
    return std::nullopt;
}

}  // namespace

MaybeError apply_env(GatewaySettings& g, const EnvLookup& env) {
    if (auto e = read_string(env, "ALLOWED_ORIGIN", as_allowed_origin, g.allowed_origin)) return e;
    if (auto e = read_millis(env, "DEFAULT_TIMEOUT", kMaxTimeoutMs, g.default_timeout_ms)) return e;
    if (auto e = read_millis(env, "BACKGROUND_TIMEOUT", kMaxBackgroundTimeoutMs,
                             g.background_timeout_ms)) {
        return e;
    }
    if (auto e = read_bytes(env, "MAX_RESPONSE_SIZE", g.max_response_size)) return e;
    if (auto e = read_bool(env, "ENABLE_RETRY", g.enable_retry)) return e;
    if (auto e = read_bool(env, "ENABLE_FALLBACK", g.enable_fallback)) return e;
    return read_string(env, "LOG_LEVEL", as_log_level, g.log_level);
}

}  // namespace llmgw::config
