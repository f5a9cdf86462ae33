#include "server/http_out.hpp"

#include <cstring>

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

namespace {

char* put(char* at, std::string_view piece) {
    std::memcpy(at, piece.data(), piece.size());
    return at + piece.size();
}

}  // namespace

void append_head(std::string& out, int status, const Headers& headers) {
    const std::string_view reason = reason_phrase(status);
    std::size_t fields_size = 2;  // the blank line
    bool all_safe = true;
    for (const HeaderField& f : headers) {
        fields_size += f.name.size() + f.value.size() + 4;
        all_safe = all_safe && str::is_safe_field_value(f.value);
    }
    out.reserve(out.size() + 15 + reason.size() + fields_size);
    out += "HTTP/1.1 ";
    str::append_decimal(out, static_cast<std::uint64_t>(status < 0 ? 0 : status));
    out += ' ';
    out += reason;
    out += "\r\n";
    if (!all_safe) {
        // A value that would break its line is left out, never sent.
        for (const HeaderField& f : headers) {
            if (!str::is_safe_field_value(f.value)) continue;
            out.append(f.name).append(": ").append(f.value).append("\r\n");
        }
        out += "\r\n";
        return;
    }
    // Sized above, then copied piece by piece: one resize instead of a check per append.
    const std::size_t at = out.size();
    out.resize(at + fields_size);
    char* p = out.data() + at;
    for (const HeaderField& f : headers) {
        p = put(p, f.name);
        p = put(p, ": ");
        p = put(p, f.value);
        p = put(p, "\r\n");
    }
    put(p, "\r\n");
}

void append_chunk(std::string& out, std::string_view data) {
    if (data.empty()) return;
    str::append_hex(out, data.size());
    out += "\r\n";
    out.append(data);
    out += "\r\n";
}

}  // namespace llmgw::server
