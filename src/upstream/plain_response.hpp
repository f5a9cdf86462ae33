// The common upstream answer, parsed in one pass: it came whole in the first read, in plain
// HTTP/1.1 with a Content-Length body (a JSON completion, an error). Anything else is declined
// and read by Beast's parser from the same bytes, as before: 1xx, 204 and 304, HTTP/1.0,
// Transfer-Encoding (every stream), no Content-Length, a body still arriving, Upgrade,
// Proxy-Connection, a Connection other than keep-alive or close, a Content-Length that is not
// plain digits or comes twice, any byte outside printable ASCII and tab, a bare LF, a head over
// 8 KiB. The attempt never asks for a HEAD request's answer here (it has no body to frame).
// Whatever this accepts, Beast reads the same way (a unit test and a fuzz target compare them).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

#include "util/headers.hpp"

namespace llmgw::upstream {

struct PlainResponse {
    int status = 0;
    std::string_view reason;  // the status line's reason phrase
    std::uint64_t content_length = 0;
    std::string_view body;   // content_length bytes
    bool keep_alive = true;  // no "Connection: close"
    std::size_t size = 0;    // bytes of head and body, to consume
};

// Views point into `buffered`. The fields are added to `headers`, which is cleared first; on
// nullopt it may hold some of them, and the caller clears it before Beast reads the head.
std::optional<PlainResponse> parse_plain_response(std::string_view buffered, Headers& headers);

}  // namespace llmgw::upstream
