// One upstream service of the table (SPEC §1).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "util/headers.hpp"
#include "util/strings.hpp"

namespace llmgw::config {

// scheme://host[:port][/base-path], split once when the table is loaded.
struct BaseUrl {
    std::string scheme;     // "https" or "http"
    std::string host;       // no brackets for IPv6 literals
    std::uint16_t port = 0; // 0: the scheme's default
    std::string base_path;  // "" or "/openai" (never a trailing slash)
    std::string text;       // canonical form: scheme://host[:port]base_path
};

// How `llmgw call` authenticates from the environment (never logged).
struct ApiKeyAuth {
    std::string env;            // e.g. OPENAI_API_KEY; empty: none
    std::string header;         // e.g. Authorization
    std::string prefix;         // e.g. "Bearer "
};

// A new field is also written by builtin_table_gen.cpp's write_service() and compared by
// describe() in tests/unit/test_config_builtin.cpp.
struct Service {
    std::string name;
    std::vector<std::string> aliases;
    BaseUrl base_url;
    Headers headers;                                  // default request headers
    std::optional<std::int64_t> timeout_ms;           // edge: until upstream headers
    int max_retries = 1;
    std::vector<std::string> retry_methods{"GET", "HEAD", "OPTIONS", "POST"};
    std::optional<std::uint64_t> max_response_bytes;  // unset: gateway max_response_size; 0: none
    bool streaming = true;
    bool fallback = true;
    bool enabled = true;
    std::string description;
    ApiKeyAuth auth;
    // Where the service's fields came from: "built-in", a file path, "PROXY_CONFIG",
    // or "built-in + FILE" when a file changed a built-in entry.
    std::string origin;
    // "FILE:LINE:COL" of the aliases array that set `aliases` (empty: not from a file), for
    // an alias that clashes with another service, found once every source is applied.
    std::string aliases_at;
};

// The enabled service that has `alias` among its aliases (matched without regard to case),
// or null: a change written under an alias names a service that is not there.
inline const Service* alias_owner(const std::vector<Service>& table, std::string_view alias) {
    for (const Service& s : table) {
        if (!s.enabled) continue;
        for (const std::string& a : s.aliases) {
            if (str::iequals(a, alias)) return &s;
        }
    }
    return nullptr;
}

}  // namespace llmgw::config
