#include "config/toml_loader.hpp"

#include <limits>

#include "config/toml_prescan.hpp"

namespace llmgw::config {
namespace {

constexpr std::int64_t kNoMax = std::numeric_limits<std::int64_t>::max();

std::vector<TomlKey> gateway_keys(const TomlReader& r, GatewaySettings& g) {
    return {
        {"host", set_string(r, g.host, as_listen_host)},
        {"port", set_integer(r, g.port, 0, 65535)},
        {"allowed_origin", set_string(r, g.allowed_origin, as_allowed_origin)},
        {"default_timeout_ms", set_integer(r, g.default_timeout_ms, 1, kMaxTimeoutMs)},
        {"background_timeout_ms",
         set_integer(r, g.background_timeout_ms, 1, kMaxBackgroundTimeoutMs)},
        {"max_response_size", set_integer(r, g.max_response_size, 0, kNoMax)},
        {"enable_retry", set_bool(r, g.enable_retry)},
        {"enable_fallback", set_bool(r, g.enable_fallback)},
        {"log_level", set_string(r, g.log_level, as_log_level)},
        {"log_format", set_string(r, g.log_format, as_log_format)},
        {"stream_idle_timeout_ms", set_integer(r, g.stream_idle_timeout_ms, 1, kMaxTimeoutMs)},
        {"background_slots", set_integer(r, g.background_slots, 1, 65536)},
        {"background_queue_max", set_integer(r, g.background_queue_max, 0, 1 << 24)},
        {"background_queue_timeout_ms",
         set_integer(r, g.background_queue_timeout_ms, 0, kMaxTimeoutMs)},
        {"max_request_bytes", set_integer(r, g.max_request_bytes, 1, kNoMax)},
        {"max_retry_after_ms", set_integer(r, g.max_retry_after_ms, 0, kMaxTimeoutMs)},
        {"keepalive_timeout_ms", set_integer(r, g.keepalive_timeout_ms, 1, kMaxTimeoutMs)},
        {"header_timeout_ms", set_integer(r, g.header_timeout_ms, 1, kMaxTimeoutMs)},
        {"send_timeout_ms", set_integer(r, g.send_timeout_ms, 1, kMaxTimeoutMs)},
        {"drain_timeout_ms", set_integer(r, g.drain_timeout_ms, 0, kMaxTimeoutMs)},
        {"threads", set_integer(r, g.threads, 0, kMaxThreads)},
        {"max_connections", set_integer(r, g.max_connections, 1, 1 << 24)},
        {"busy_poll_us", set_integer(r, g.busy_poll_us, 0, 1000)},
        {"upstream_keepalive", set_integer(r, g.upstream_keepalive, 0, 65536)},
        {"upstream_keepalive_timeout_ms",
         set_integer(r, g.upstream_keepalive_timeout_ms, 1, kMaxTimeoutMs)},
    };
}

std::vector<TomlKey> routing_keys(const TomlReader& r, RoutingSettings& s) {
    return {
        {"long_prefixes", set_strings(r, s.long_prefixes, as_path_prefix)},
        {"long_suffixes", set_strings(r, s.long_suffixes, as_segment_suffix)},
        {"large_body_bytes", set_integer(r, s.large_body_bytes, 0, kNoMax)},
        {"stream_peek_bytes", set_integer(r, s.stream_peek_bytes, 0, kNoMax)},
    };
}

// A top-level key whose value must be a table, handed to `apply`.
TomlSetter section(const TomlReader& reader, std::function<MaybeError(const toml::table&)> apply) {
    return [&reader, apply = std::move(apply)](const TomlField& field) -> MaybeError {
        const toml::table* table = field.node.as_table();
        if (!table) return reader.wrong_type(field, "a table");
        return apply(*table);
    };
}

MaybeError apply_top_level(const TomlReader& r, const toml::table& root, Config& draft,
                           const std::string& origin) {
    const auto gateway = [&](const toml::table& t) {
        return apply_table(r, t, "gateway", gateway_keys(r, draft.gateway));
    };
    const auto routing = [&](const toml::table& t) {
        return apply_table(r, t, "routing", routing_keys(r, draft.routing));
    };
    const auto services = [&](const toml::table& t) {
        return apply_services(r, t, draft.services, origin);
    };
    return apply_table(r, root, "",
                       {{"gateway", section(r, gateway)},
                        {"routing", section(r, routing)},
                        {"services", section(r, services)}});
}

}  // namespace

MaybeError apply_toml(Config& draft, std::string_view text, const TomlSource& source) {
    const TomlReader reader(source.file);
    // A UTF-8 byte order mark, which some Windows editors write first: not part of the TOML.
    if (text.starts_with("\xEF\xBB\xBF")) text.remove_prefix(3);
    if (const auto at = non_ascii_outside_strings(text)) {
        return ConfigError{source.file + ":" + std::to_string(at->line) + ":" +
                           std::to_string(at->column) +
                           ": non-ASCII character outside a string or comment (TOML keys and "
                           "values other than strings are ASCII)"};
    }
    if (const auto at = key_with_too_many_parts(text)) {
        return ConfigError{source.file + ":" + std::to_string(at->line) + ":" +
                           std::to_string(at->column) + ": a key of more than " +
                           std::to_string(kMaxKeyParts) + " dotted parts"};
    }
    toml::table root;
    try {
        root = toml::parse(text, std::string_view(source.file));
    } catch (const toml::parse_error& e) {
        return reader.error_at(e.source(), e.description());
    }
    return apply_top_level(reader, root, draft, source.origin);
}

void add_origin(Service& service, const std::string& origin) {
    const std::string suffix = " + " + origin;
    if (service.origin == origin) return;
    if (service.origin.size() >= suffix.size() &&
        service.origin.compare(service.origin.size() - suffix.size(), suffix.size(), suffix) == 0) {
        return;
    }
    service.origin += suffix;
}

}  // namespace llmgw::config
