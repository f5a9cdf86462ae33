// The common request, parsed in one pass: it came whole in the bytes read so far, in the plain
// form SDKs, curl and load generators send. Anything else is declined and read by Beast's
// parser (RequestParser) from the same bytes, exactly as before: a head or body still arriving,
// HTTP/1.0, obs-fold, Transfer-Encoding, Expect, Upgrade, Proxy-Connection, a Connection other
// than keep-alive or close, a Content-Length that is not plain digits or comes twice or is over
// the limit, a Host count other than one or an invalid Host, any byte outside printable ASCII
// and tab, a bare LF,
// a head over 8 KiB. Whatever it accepts, Beast accepts with the same method, target, fields,
// body and keep-alive (a unit test and a fuzz target compare the two).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

#include "util/headers.hpp"

namespace llmgw::server {

struct PlainRequest {
    std::string_view method;
    std::string_view target;
    std::string_view body;          // empty without a Content-Length
    bool has_content_length = false;
    bool keep_alive = true;         // no "Connection: close"
    std::size_t size = 0;           // bytes of head and body, to consume
};

// Views point into `buffered`. The fields are added to `headers`, which is cleared first; on
// nullopt it may hold some of them, and the caller clears it before Beast reads the head.
std::optional<PlainRequest> parse_plain_request(std::string_view buffered, std::uint64_t body_limit,
                                                Headers& headers);

}  // namespace llmgw::server
