#include "config/flags.hpp"

#include <string>

#include "config/rules.hpp"

namespace llmgw::config {
namespace {

ConfigError bad(std::string_view flag, std::string_view value, std::string_view reason) {
    return {std::string(flag) + " '" + printable(value) + "': " + std::string(reason)};
}

MaybeError set_text(std::string_view flag, const std::optional<std::string>& value,
                    const Convert& convert, std::string& out) {
    if (!value) return std::nullopt;
    auto converted = convert(*value);
    if (!converted) return bad(flag, *value, converted.error());
    out = std::move(*converted);
    return std::nullopt;
}

}  // namespace

MaybeError apply_flags(GatewaySettings& g, const FlagOverrides& flags) {
    if (auto e = set_text("--host", flags.host, as_listen_host, g.host)) return e;
    if (auto e = set_text("--log-level", flags.log_level, as_log_level, g.log_level)) return e;
    if (auto e = set_text("--log-format", flags.log_format, as_log_format, g.log_format)) return e;
    if (flags.port) g.port = *flags.port;
    if (flags.threads) {
        if (*flags.threads < 0 || *flags.threads > kMaxThreads) {
            return bad("--threads", std::to_string(*flags.threads),
                       "must be between 0 and " + std::to_string(kMaxThreads));
        }
        g.threads = *flags.threads;
    }
    if (flags.drain_timeout_ms) {
        if (*flags.drain_timeout_ms < 0 || *flags.drain_timeout_ms > kMaxTimeoutMs) {
            return bad("--drain-timeout", std::to_string(*flags.drain_timeout_ms),
                       "must be between 0 and " + std::to_string(kMaxTimeoutMs) + " milliseconds");
        }
        g.drain_timeout_ms = *flags.drain_timeout_ms;
    }
    return std::nullopt;
}

}  // namespace llmgw::config
