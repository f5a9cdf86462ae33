#include "upstream/h1_url.hpp"

#include "upstream/url_host.hpp"
#include "util/strings.hpp"

namespace llmgw::upstream {

namespace {

constexpr std::string_view kScheme = "http://";

// Where the request target of an http:// URL begins (the end of its authority), or npos when
// the URL is not plain http.
std::size_t target_start(std::string_view url) {
    if (url.size() <= kScheme.size() || !str::istarts_with(url, kScheme)) return std::string_view::npos;
    // A plain loop: find_first_of calls memchr over "/?#" once per byte of the authority.
    for (std::size_t i = kScheme.size(); i < url.size(); ++i) {
        if (url[i] == '/' || url[i] == '?' || url[i] == '#') return i;
    }
    return url.size();
}

// A request target the native client may write as it is.
bool sendable_target(std::string_view target) {
    if (target.find('#') != std::string_view::npos) return false;
    for (const char c : target) {
        // Bytes that would change the request line are never sent as they are.
        if (static_cast<unsigned char>(c) <= ' ' || c == 0x7f) return false;
    }
    return target.empty() || target.front() != '?';  // curl adds the "/"
}

}  // namespace

std::optional<H1Target> parse_h1_target(std::string_view url) {
    const std::size_t cut = target_start(url);
    if (cut == std::string_view::npos) return std::nullopt;
    const std::string_view authority = url.substr(kScheme.size(), cut - kScheme.size());
    const std::string_view target = url.substr(cut);
    if (!sendable_target(target)) return std::nullopt;

    const auto host = parse_authority(authority, 80);
    if (!host) return std::nullopt;  // percent-encoded or international names: libcurl
    H1Target out;
    out.port = host->port;
    out.host = host->host;
    const std::string port_text = std::to_string(out.port);
    out.authority = str::bracketed_host(out.host);
    if (out.port != 80) out.authority.append(":").append(port_text);
    out.origin = out.host;
    out.origin.append(":").append(port_text);
    out.target = target.empty() ? std::string_view("/") : target;
    return out;
}

namespace {

// Whether `url` begins with the origin `known` ("http://host:port", as cut by target_start):
// then its own cut is there too, as `known` holds no '/', '?' or '#' after the scheme.
bool has_origin(std::string_view url, std::string_view known) {
    if (!url.starts_with(known)) return false;
    if (url.size() == known.size()) return true;
    const char next = url[known.size()];
    return next == '/' || next == '?' || next == '#';
}

}  // namespace

std::optional<H1Target> H1TargetCache::get(std::string_view url) {
    // Most requests go to the service the one before went to: one comparison, no scan.
    const bool same_as_last = last_ != origins_.end() && has_origin(url, last_->first);
    const std::size_t cut = same_as_last ? last_->first.size() : target_start(url);
    if (cut == std::string_view::npos) return std::nullopt;
    const std::string_view origin = url.substr(0, cut);
    if (!same_as_last) {
        last_ = origins_.find(origin);
        if (last_ == origins_.end()) {
            if (origins_.size() >= kMaxOrigins) {
                origins_.clear();
                last_ = origins_.end();  // not left dangling should the emplace below throw
            }
            last_ = origins_.emplace(std::string(origin), parse_h1_target(origin)).first;
        }
    }
    const std::string_view target = url.substr(cut);
    if (!last_->second || !sendable_target(target)) return std::nullopt;
    H1Target out = *last_->second;
    out.target = target.empty() ? std::string_view("/") : target;
    return out;
}

}  // namespace llmgw::upstream
