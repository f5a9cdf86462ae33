// Secrets never reach a log line (SPEC §8): header values of credential headers and
// credential query parameters are shown as ***.
#pragma once

#include <string>
#include <string_view>

namespace llmgw {

// Authorization, Cookie and the like, and any name with a word "key", "apikey", "token",
// "secret" or "password" (words between '-' or '_').
bool is_secret_header(std::string_view name);
// "***" for secret headers, else the value.
std::string redact_header_value(std::string_view name, std::string_view value);
// The path with the values of key, api_key, token and access_token replaced by ***, and the
// user info of an absolute-form target (http://user:pass@host/...) too.
std::string redact_target(std::string_view path_and_query);
// For error messages that may quote a URL libcurl or the config could not parse: every word
// (between spaces and quotes) with an '@' shows *** up to its last '@' (after "scheme://"
// when it has one), however malformed: "corp:p#ss@proxy", "u:pa/ss@proxy", "http://u:p@h".
std::string redact_userinfo_in_message(std::string_view text);

}  // namespace llmgw
