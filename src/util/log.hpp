// Logging to stderr in the two formats of SPEC §8:
//   text: [2026-01-01 12:00:00.000] [req-id] [INFO] message | key=value key2=value2
//   json: {"ts":"…","level":"INFO","request_id":"…","msg":"…","key":"value",…}
// Logging never throws; callers check log_enabled() before building costly fields.
#pragma once

#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>

namespace llmgw {

enum class LogLevel { debug, info, warn, error, off };
enum class LogFormat { text, json };

std::optional<LogLevel> parse_log_level(std::string_view s);  // case-insensitive
std::optional<LogFormat> parse_log_format(std::string_view s);
std::string_view to_string(LogLevel level);

struct LogField {
    std::string_view key;
    std::string value;
    bool quoted = false;  // json: emit as a string (numbers and booleans are not quoted)
};

inline LogField log_str(std::string_view key, std::string value) { return {key, std::move(value), true}; }
inline LogField log_num(std::string_view key, long long value) {
    return {key, std::to_string(value), false};
}
LogField log_ms(std::string_view key, double ms);  // two decimals
inline LogField log_bool(std::string_view key, bool value) {
    return {key, value ? "true" : "false", false};
}

void log_setup(LogLevel level, LogFormat format);
bool log_enabled(LogLevel level);
void log_line(LogLevel level, std::string_view request_id, std::string_view message,
              std::initializer_list<LogField> fields = {});
// Formats a line without writing it (tests and the json/text contract).
std::string format_log_line(LogFormat format, LogLevel level, std::string_view request_id,
                            std::string_view message, std::initializer_list<LogField> fields);

}  // namespace llmgw
