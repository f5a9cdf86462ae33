#include "server/http_out.hpp"

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
        case 415: return "Unsupported Media Type";
        case 422: return "Unprocessable Content";
        case 429: return "Too Many Requests";
        case 431: return "Request Header Fields Too Large";
        case 500: return "Internal Server Error";
        case 501: return "Not Implemented";
        case 502: return "Bad Gateway";
        case 503: return "Service Unavailable";
        case 504: return "Gateway Timeout";
        case 529: return "Site Overloaded";
        default: return "Unknown";
    }
}

HeadWriter::HeadWriter(std::string& out, int status) : out_(out) {
    const std::string_view reason = reason_phrase(status);
    // Room for most heads at once, so adding a field seldom reallocates.
    out_.reserve(out_.size() + Headers::kTypicalBytes);
    out_ += "HTTP/1.1 ";
    str::append_decimal(out_, static_cast<std::uint64_t>(status < 0 ? 0 : status));
    out_ += ' ';
    out_ += reason;
    out_ += "\r\n";
}

void HeadWriter::add(std::string_view name, std::string_view value) {
    if (!str::is_safe_field_value(value)) return;
    // One size change, then the field written into it.
    const std::size_t at = out_.size();
    out_.resize(at + field_size(name, value));
    put_field(out_.data() + at, name, value);
}

void HeadWriter::add_decimal(std::string_view name, std::uint64_t value) {
    out_ += name;
    out_ += ": ";
    str::append_decimal(out_, value);
    out_ += "\r\n";
}

void append_chunk(std::string& out, std::string_view data) {
    if (data.empty()) return;
    str::append_hex(out, data.size());
    out += "\r\n";
    out.append(data);
    out += "\r\n";
}

}  // namespace llmgw::server
