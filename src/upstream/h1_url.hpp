// Which upstream URLs the native HTTP/1.1 client carries: plain `http://host[:port]/…` with no
// user info or fragment. Everything else (https, proxies, odd URLs) goes to libcurl.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace llmgw::upstream {

struct H1Target {
    std::string host;       // as in the URL, without IPv6 brackets
    std::uint16_t port = 80;
    std::string authority;  // the Host header: host[:port], brackets kept, :80 left out
    std::string origin;     // "host:port", the key of the connection pool
    std::string_view target;  // origin-form request target, a view into the URL ("/" if empty)
};

// The parts of `url` for the native client, or nothing when libcurl must carry it.
std::optional<H1Target> parse_h1_target(std::string_view url);

// parse_h1_target with the part before the request target parsed once: services are few and
// their base URLs fixed, so a request pays only for checking its target. One per event loop.
class H1TargetCache {
public:
    H1TargetCache() = default;
    H1TargetCache(const H1TargetCache&) = delete;  // last_ points into origins_
    H1TargetCache& operator=(const H1TargetCache&) = delete;
    std::optional<H1Target> get(std::string_view url);

private:
    struct Hash {
        using is_transparent = void;
        std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
    };
    static constexpr std::size_t kMaxOrigins = 256;  // then it starts over
    // "http://host:port" -> its target (with target "/"), or nothing when libcurl carries it.
    using Origins = std::unordered_map<std::string, std::optional<H1Target>, Hash, std::equal_to<>>;
    Origins origins_;
    Origins::iterator last_ = origins_.end();  // the entry found last: checked before hashing
};

}  // namespace llmgw::upstream
