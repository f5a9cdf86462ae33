// Rules for names and values shared by every source of settings (TOML, environment,
// PROXY_CONFIG, flags), so a value means the same thing wherever it is written.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "util/result.hpp"

namespace llmgw::config {

// Checks a value and returns its canonical form, or the reason it is refused
// ("not a log level (use debug, info, warn or error)").
using Convert = std::function<Result<std::string, std::string>(std::string_view)>;

Result<std::string, std::string> as_service_name(std::string_view s);  // [a-z0-9_-]+
Result<std::string, std::string> as_method(std::string_view s);  // token, str::method_as_meant
Result<std::string, std::string> as_env_name(std::string_view s);      // [A-Za-z_][A-Za-z0-9_]*
Result<std::string, std::string> as_header_name(std::string_view s);   // token
// A name for a service's headers or api_key_header: a token that does not frame the message
// or the connection (Content-Length, Transfer-Encoding, Connection, …), which the upstream
// client writes itself.
Result<std::string, std::string> as_service_header_name(std::string_view s);
Result<std::string, std::string> as_header_value(std::string_view s);  // no control but tab
Result<std::string, std::string> as_log_level(std::string_view s);     // lower-cased
Result<std::string, std::string> as_log_format(std::string_view s);    // text | json
// A host name or address: non-empty, no spaces; an IPv6 address may come in brackets.
Result<std::string, std::string> as_listen_host(std::string_view s);
Result<std::string, std::string> as_allowed_origin(std::string_view s);
// [routing] long_prefixes: starts with '/', no '?', '#' or '%'.
Result<std::string, std::string> as_path_prefix(std::string_view s);
// [routing] long_suffixes: not empty, no '/', '?', '#' or '%'.
Result<std::string, std::string> as_segment_suffix(std::string_view s);
Result<std::string, std::string> as_one_line(std::string_view s);  // no control but tab

// Control characters shown as \xNN, so an error message stays on one line.
std::string printable(std::string_view s);

inline constexpr std::int64_t kMaxBackgroundTimeoutMs = 300000;
// Upper bound of every other timeout: a day, far from any clock overflow.
inline constexpr std::int64_t kMaxTimeoutMs = 86400000;
inline constexpr int kMaxThreads = 256;  // [gateway] threads and --threads

}  // namespace llmgw::config
