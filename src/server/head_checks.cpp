#include "server/head_checks.hpp"

#include <boost/asio/buffer.hpp>
#include <boost/beast/http/error.hpp>

#include "server/head_scan.hpp"
#include "server/request_parser.hpp"
#include "util/headers.hpp"

namespace llmgw::server {

namespace http = boost::beast::http;

Refusal refusal_of_obs_fold() {
    return Refusal{400, ErrorType::bad_request,
                   "malformed HTTP request: a header line starts with a space or tab (obs-fold)"};
}

Refusal refusal_of_large_head(const HeadScanner& scan) {
    if (scan.passed_in_request_line(kHeaderLimit)) {
        return Refusal{414, ErrorType::bad_request,
                       "request target too long: the request line does not end within 16 KiB"};
    }
    return Refusal{431, ErrorType::bad_request, "request headers exceed 16 KiB"};
}

Refusal refusal_of_large_body(std::uint64_t max_request_bytes) {
    return Refusal{
        413, ErrorType::size_limit,
        "request body exceeds the limit of " + std::to_string(max_request_bytes) + " bytes"};
}

Refusal refusal_of_parse_error(const boost::system::error_code& ec, std::uint64_t max_request_bytes,
                               const HeadScanner& scan) {
    // Beast's own limit, met at exactly kHeaderLimit bytes without the head's end (the scanner
    // refuses only more): which part is too long, the scanner that saw them tells.
    if (ec == http::error::header_limit) return refusal_of_large_head(scan);
    // Beast finds a Content-Length over the limit as the head ends: its fields are all in.
    if (ec == http::error::body_limit) return refusal_of_large_body(max_request_bytes);
    return Refusal{400, ErrorType::bad_request, "malformed HTTP request: " + ec.message()};
}

RequestVersion request_line_version(std::string_view head) {
    // The request line alone: METHOD SP TARGET SP HTTP/D.D CRLF, each part without a space,
    // the line ended by CRLF (a bare LF, a space in the target: malformed, not a version).
    const std::size_t lf = head.find('\n');
    if (lf == std::string_view::npos || lf == 0 || head[lf - 1] != '\r') return {};
    const std::string_view line = head.substr(0, lf - 1);
    const std::size_t first = line.find(' ');
    const std::size_t last = line.rfind(' ');
    if (first == std::string_view::npos || first == 0 || line.find(' ', first + 1) != last ||
        last == first + 1) {
        return {};
    }
    const std::string_view version = line.substr(last + 1);
    const auto digit = [](char c) { return c >= '0' && c <= '9'; };
    if (version.size() != 8 || !version.starts_with("HTTP/") || !digit(version[5]) ||
        version[6] != '.' || !digit(version[7])) {
        return {};
    }
    return {version[5] - '0', version[7] - '0', last + 8};
}

Refusal refusal_of_version(const RequestVersion& version) {
    // A major version other than 1 (0 is none): 505; anything else Beast refused is malformed.
    if (version.major < 2) {
        return Refusal{400, ErrorType::bad_request, "malformed HTTP request: bad version"};
    }
    return Refusal{505, ErrorType::bad_request,
                   "HTTP/" + std::to_string(version.major) + "." + std::to_string(version.minor) +
                       " is not supported: the gateway serves HTTP/1.0 and 1.1"};
}

std::optional<Refusal> refusal_of_parsed_head(const RequestParser& req,
                                              std::uint64_t max_request_bytes) {
    // RFC 9112 §6.3: a Transfer-Encoding that does not end in chunked cannot frame a request;
    // treating it as "no body" would let the body smuggle in a second request.
    if (req.has_transfer_encoding && !req.chunked()) {
        return Refusal{400, ErrorType::bad_request,
                       "malformed HTTP request: Transfer-Encoding must end in chunked"};
    }
    // RFC 9112 §3.2: one Host in an HTTP/1.1 request, never more than one in any request.
    if (req.hosts > 1 || (req.hosts == 0 && req.version >= 11)) {
        return Refusal{400, ErrorType::bad_request,
                       req.hosts > 1
                           ? "malformed HTTP request: more than one Host header"
                           : "malformed HTTP request: no Host header (required in HTTP/1.1)"};
    }
    // RFC 9112 §3.2: an invalid Host value is refused too (nginx: "invalid host header").
    if (!req.host_valid) {
        return Refusal{400, ErrorType::bad_request,
                       "malformed HTTP request: the Host header is not a host[:port]"};
    }
    // RFC 9112 §6.1: a transfer coding the server does not understand gets 501 (as nginx
    // answers). Decoding only the chunks would send the still-coded bytes upstream as if plain.
    // The body's framing is unknown, so the connection closes after the answer.
    if (req.other_coding) {
        return Refusal{501, ErrorType::bad_request,
                       "Transfer-Encoding names a coding other than chunked, which the gateway "
                       "does not implement"};
    }
    const auto length = req.content_length();
    if (length && *length > max_request_bytes) {
        return Refusal{413, ErrorType::size_limit,
                       "request body of " + std::to_string(*length) +
                           " bytes exceeds the limit of " + std::to_string(max_request_bytes) +
                           " bytes"};
    }
    return std::nullopt;
}

HeadOutcome check_request_head(std::string_view head, std::uint64_t max_request_bytes) {
    HeadScanner scan;
    head.remove_prefix(scan.skip_empty_lines(head));
    if (scan.scan(head).verdict == HeadScanner::Verdict::obs_fold) return {refusal_of_obs_fold()};
    if (scan.scanned() > kHeaderLimit) return {refusal_of_large_head(scan)};
    Headers headers;
    RequestParser parser(headers);
    parser.header_limit(kHeaderLimit);
    parser.body_limit(max_request_bytes);
    boost::system::error_code ec;
    parser.put(boost::asio::buffer(head.data(), head.size()), ec);
    if (ec && ec != http::error::need_more) {
        return {refusal_of_parse_error(ec, max_request_bytes, scan)};
    }
    if (!parser.is_header_done()) {
        return {Refusal{400, ErrorType::bad_request, "malformed HTTP request: the head is cut"}};
    }
    return {refusal_of_parsed_head(parser, max_request_bytes), parser.chunked(),
            parser.content_length() ? std::optional<std::uint64_t>(*parser.content_length())
                                    : std::nullopt};
}

}  // namespace llmgw::server
