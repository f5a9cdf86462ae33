// What one upstream exchange sends and what its answer starts with.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "util/headers.hpp"

namespace llmgw::upstream {

struct UpstreamRequest {
    std::string method;
    std::string url;                          // absolute, passed to curl unchanged
    Headers headers;                          // already filtered by the header policy
    std::shared_ptr<const std::string> body;  // replayed byte for byte on each attempt
};

struct ResponseHead {
    int status = 0;
    std::string http_version;                 // "1.1", "2"
    // HTTP/1's reason phrase as sent (may be empty). A view into the bytes read, valid while
    // on_head() runs only: no copy per answer for what only `call -i` prints.
    std::string_view reason;
    Headers headers;                          // as the upstream sent them
    std::optional<std::uint64_t> content_length;
};

// The first part of `request` that must not be written as it is: "(method)" or a header's
// name, when the method or a name is not an HTTP token or a value holds CR, LF or NUL.
std::optional<std::string> unsendable_part(const UpstreamRequest& request);

// Feeds header lines as curl delivers them; says when a final (non-1xx) head is complete.
class HeadParser {
public:
    // switched: a 101 head ended. What follows is not HTTP (libcurl 7.86 and later pass it on
    // as the body): the response is refused.
    enum class Step { more, complete, bad, switched };
    Step feed(std::string_view line);
    ResponseHead& head() { return head_; }
    void reset() { *this = {}; }

  private:
    // A field line that starts with SP or HTAB (obs-fold): joined to the field before it with
    // one SP, as Beast (the native client) reads it and as a proxy must (RFC 9112 §5.2).
    Step unfold(std::string_view line);
    // RFC 9112 §6.3: Content-Length fields that disagree (or one that is no length while
    // another is) frame no message: 502, as the native client answers.
    Step note_length(std::string_view value);

    ResponseHead head_;
    std::string reason_;  // what head_.reason views: libcurl hands the status line over alone
    bool length_seen_ = false;
};

}  // namespace llmgw::upstream
