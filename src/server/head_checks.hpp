// What serve answers a request head before it routes it: the refusals of broken framing, a
// missing, doubled or invalid Host, a transfer coding other than chunked (501), a head over 16 KiB
// (414 when its request line is what is too long), an HTTP major version other than 1 (505) and
// a body announced over max_request_bytes.
// One place for them, so that `llmgw route` says what serve would answer (it parses a head
// written from its arguments with the same parser and checks).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "util/gateway_error.hpp"

namespace boost::system {
class error_code;
}

namespace llmgw::server {

class HeadScanner;
class RequestParser;

// SPEC §6: a head over this many bytes gets 431, or 414 (refusal_of_large_head).
constexpr std::uint32_t kHeaderLimit = 16 * 1024;

struct Refusal {
    int status;
    ErrorType type;
    std::string message;
};

// A head line that starts with SP or HTAB (obs-fold), and a head over kHeaderLimit bytes,
// found by the scanner before the parser sees them. Over the limit: 414 when it passed inside
// the request line, whose target is then what is too long (RFC 9110 §15.5.15, as nginx
// answers), else 431.
Refusal refusal_of_obs_fold();
Refusal refusal_of_large_head(const HeadScanner& scan);
// A body over max_request_bytes: announced by its Content-Length, or a chunked one as it grows.
Refusal refusal_of_large_body(std::uint64_t max_request_bytes);

// The answer to a head the parser refused with `ec` (not a connection that ended); `scan` has
// seen every byte the parser was given.
Refusal refusal_of_parse_error(const boost::system::error_code& ec, std::uint64_t max_request_bytes,
                               const HeadScanner& scan);

// The version of a request line the parser refused with "bad version" (Beast takes only 1.0
// and 1.1): HTTP/1.2 to HTTP/1.9 are served as HTTP/1.1 (RFC 9112 §2.3), their minor digit at
// `minor_at` mended and the head parsed again; another major version gets 505 (RFC 9110
// §15.6.6, as nginx answers). major -1: the head does not start with METHOD SP TARGET SP
// "HTTP/" DIGIT "." DIGIT CRLF (400, as any other version Beast refuses).
struct RequestVersion {
    int major = -1;
    int minor = -1;
    std::size_t minor_at = 0;
};
RequestVersion request_line_version(std::string_view head);
Refusal refusal_of_version(const RequestVersion& version);

// The checks of a head the parser took without an error, in the order serve makes them.
std::optional<Refusal> refusal_of_parsed_head(const RequestParser& request,
                                              std::uint64_t max_request_bytes);

// The whole head (through its empty line) as serve reads it: the parser's own refusals, then
// the checks above. Nothing: serve goes on to read the body and route the request.
struct HeadOutcome {
    std::optional<Refusal> refusal;
    bool chunked = false;  // the body is chunked: its size counts as it is read
    std::optional<std::uint64_t> content_length{};  // the length the parser took, if any
};
HeadOutcome check_request_head(std::string_view head, std::uint64_t max_request_bytes);

}  // namespace llmgw::server
