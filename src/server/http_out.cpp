#include "server/http_out.hpp"

#include <charconv>

#include "util/field_writer.hpp"
#include "util/strings.hpp"

namespace llmgw::server {

std::string_view reason_phrase(int status) {
    switch (status) {
        case 100: return "Continue";
        case 200: return "OK";
        case 201: return "Created";
        case 202: return "Accepted";
        case 204: return "No Content";
        case 206: return "Partial Content";
        case 301: return "Moved Permanently";
        case 302: return "Found";
        case 304: return "Not Modified";
        case 307: return "Temporary Redirect";
        case 308: return "Permanent Redirect";
        case 400: return "Bad Request";
        case 401: return "Unauthorized";
        case 403: return "Forbidden";
        case 404: return "Not Found";
        case 405: return "Method Not Allowed";
        case 408: return "Request Timeout";
        case 409: return "Conflict";
        case 413: return "Content Too Large";
        case 414:
            return "URI Too Long";
        case 415: return "Unsupported Media Type";
        case 422: return "Unprocessable Content";
        case 429: return "Too Many Requests";
        case 431: return "Request Header Fields Too Large";
        case 500: return "Internal Server Error";
        case 501: return "Not Implemented";
        case 502: return "Bad Gateway";
        case 503: return "Service Unavailable";
        case 504: return "Gateway Timeout";
        case 505:
            return "HTTP Version Not Supported";
        case 529: return "Site Overloaded";
        default:
            return "";  // the reason phrase may be empty (RFC 9112 §4); none is made up
    }
}

HeadWriter::HeadWriter(std::string& out, int status) : out_(out), end_(out.size()) {
    // Room for most proxied heads at once (~400 bytes): adding a field then only copies.
    out_.resize(end_ + kFirstRoom);
    char code[20];
    const auto number = static_cast<std::uint64_t>(status < 0 ? 0 : status);
    const char* const code_end = std::to_chars(code, code + sizeof code, number).ptr;
    const std::string_view digits(code, static_cast<std::size_t>(code_end - code));
    const std::string_view reason = reason_phrase(status);
    char* at = room(9 + digits.size() + 1 + reason.size() + 2);
    at = put_bytes(at, "HTTP/1.1 ");
    at = put_bytes(at, digits);
    *at++ = ' ';
    at = put_bytes(at, reason);
    *at++ = '\r';
    *at = '\n';
}

char* HeadWriter::room(std::size_t n) {
    if (out_.size() - end_ < n) out_.resize(end_ + n + Headers::kTypicalBytes);
    char* const at = out_.data() + end_;
    end_ += n;
    return at;
}

void HeadWriter::add(std::string_view name, std::string_view value) {
    if (str::is_safe_field_value(value)) add_own(name, value);
}

void HeadWriter::add_own(std::string_view name, std::string_view value) {
    put_field(room(field_size(name, value)), name, value);
}

void HeadWriter::add_decimal(std::string_view name, std::uint64_t value) {
    char digits[20];
    const char* const end = std::to_chars(digits, digits + sizeof digits, value).ptr;
    add_own(name, std::string_view(digits, static_cast<std::size_t>(end - digits)));
}

void HeadWriter::finish() {
    put_bytes(room(2), "\r\n");
    out_.resize(end_);
    finished_ = true;
}

void append_chunk(std::string& out, std::string_view data) {
    if (data.empty()) return;
    str::append_hex(out, data.size());
    out += "\r\n";
    out.append(data);
    out += "\r\n";
}

}  // namespace llmgw::server
