#include "util/log.hpp"

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "util/ids.hpp"
#include "util/strings.hpp"

namespace llmgw {
namespace {

std::atomic<LogLevel> g_level{LogLevel::info};
std::atomic<LogFormat> g_format{LogFormat::text};

std::shared_ptr<spdlog::logger> stderr_logger() {
    // The line is fully formatted by us; spdlog provides the locked, flushed sink.
    static std::shared_ptr<spdlog::logger> logger = [] {
        auto sink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
        auto l = std::make_shared<spdlog::logger>("llmgw", sink);
        l->set_pattern("%v");
        l->set_level(spdlog::level::trace);
        l->flush_on(spdlog::level::trace);
        return l;
    }();
    return logger;
}

// Quoted (and so escaped) unless every byte is printable ASCII other than space, '"' and '=':
// a path's bytes above 0x7F may be C1 controls (U+009B starts an escape sequence) or not
// UTF-8 at all.
bool needs_quotes(std::string_view v) {
    if (v.empty()) return true;
    for (char c : v) {
        const auto b = static_cast<unsigned char>(c);
        if (c == ' ' || c == '"' || c == '=' || b < 0x20 || b >= 0x7F) return true;
    }
    return false;
}

}  // namespace

std::optional<LogLevel> parse_log_level(std::string_view s) {
    s = str::trim(s);
    if (str::iequals(s, "debug") || str::iequals(s, "trace")) return LogLevel::debug;
    if (str::iequals(s, "info")) return LogLevel::info;
    if (str::iequals(s, "warn") || str::iequals(s, "warning")) return LogLevel::warn;
    if (str::iequals(s, "error")) return LogLevel::error;
    if (str::iequals(s, "off") || str::iequals(s, "none")) return LogLevel::off;
    return std::nullopt;
}

std::optional<LogFormat> parse_log_format(std::string_view s) {
    if (str::iequals(s, "text")) return LogFormat::text;
    if (str::iequals(s, "json")) return LogFormat::json;
    return std::nullopt;
}

std::string_view to_string(LogLevel level) {
    switch (level) {
        case LogLevel::debug: return "DEBUG";
        case LogLevel::info: return "INFO";
        case LogLevel::warn: return "WARN";
        case LogLevel::error: return "ERROR";
        case LogLevel::off: return "OFF";
    }
    return "INFO";
}

LogField log_ms(std::string_view key, double ms) { return {key, str::fixed2(ms), false}; }

void log_setup(LogLevel level, LogFormat format) {
    g_level.store(level);
    g_format.store(format);
}

bool log_enabled(LogLevel level) {
    return level != LogLevel::off && static_cast<int>(level) >= static_cast<int>(g_level.load());
}

std::string format_log_line(LogFormat format, LogLevel level, std::string_view request_id,
                            std::string_view message, std::initializer_list<LogField> fields) {
    if (format == LogFormat::json) {
        nlohmann::ordered_json j;
        j["ts"] = iso8601_utc(std::chrono::system_clock::now());
        j["level"] = to_string(level);
        if (!request_id.empty()) j["request_id"] = request_id;
        j["msg"] = message;
        for (const LogField& f : fields) {
            if (!f.quoted) {
                j[std::string(f.key)] = nlohmann::ordered_json::parse(f.value, nullptr, false);
                if (j[std::string(f.key)].is_discarded()) j[std::string(f.key)] = f.value;
            } else {
                j[std::string(f.key)] = f.value;
            }
        }
        return j.dump(-1, ' ', /*ensure_ascii=*/true, nlohmann::json::error_handler_t::replace);
    }
    std::string line;
    line.reserve(128);
    line += '[';
    line += local_timestamp(std::chrono::system_clock::now());
    line += "] [";
    line += request_id.empty() ? std::string_view("-") : request_id;
    line += "] [";
    line += to_string(level);
    line += "] ";
    line += message;
    bool first = true;
    for (const LogField& f : fields) {
        line += first ? " | " : " ";
        first = false;
        line += f.key;
        line += '=';
        if (needs_quotes(f.value)) {
            line += nlohmann::json(f.value).dump(-1, ' ', /*ensure_ascii=*/true,
                                                 nlohmann::json::error_handler_t::replace);
        } else {
            line += f.value;
        }
    }
    return line;
}

void log_line(LogLevel level, std::string_view request_id, std::string_view message,
              std::initializer_list<LogField> fields) {
    if (!log_enabled(level)) return;
    try {
        stderr_logger()->info(format_log_line(g_format.load(), level, request_id, message, fields));
    } catch (...) {
        // Logging must never take the gateway down.
    }
}

}  // namespace llmgw
