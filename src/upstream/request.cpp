#include "upstream/request.hpp"

#include "util/strings.hpp"

namespace llmgw::upstream {

std::optional<std::string> unsendable_part(const UpstreamRequest& request) {
    if (!str::is_token(request.method)) return std::string("(method)");
    for (const HeaderField& f : request.headers) {
        if (!str::is_token(f.name) || !str::is_safe_field_value(f.value)) {
            return std::string(f.name);
        }
    }
    return std::nullopt;
}

HeadParser::Step HeadParser::unfold(std::string_view line) {
    if (head_.headers.empty()) return Step::bad;  // nothing to continue
    const HeaderField last = head_.headers[head_.headers.size() - 1];
    const std::string name(last.name);
    if (str::iequals(name, "content-length")) return Step::bad;
    std::string value(last.value);
    const std::string_view more = str::trim(line);
    if (!more.empty()) value.append(value.empty() ? "" : " ").append(more);
    head_.headers.remove_last();
    head_.headers.add(name, value);
    return Step::more;
}

HeadParser::Step HeadParser::note_length(std::string_view value) {
    const auto length = str::parse_u64(value);
    if (length_seen_ && length != head_.content_length) return Step::bad;
    length_seen_ = true;
    head_.content_length = length;
    return Step::more;
}

HeadParser::Step HeadParser::feed(std::string_view line) {
    while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.remove_suffix(1);
    if (line.empty()) {
        if (head_.status == 0) return Step::bad;
        if (head_.status == 101) return Step::switched;
        if (head_.status >= 100 && head_.status < 200) {  // 100 Continue and friends
            reset();
            return Step::more;
        }
        // RFC 9112 §6.3: with Transfer-Encoding, a Content-Length is not the body's length
        // (libcurl decodes the chunks and ignores it); relayed, it would desynchronise the
        // client's connection.
        if (head_.headers.get("transfer-encoding")) head_.content_length.reset();
        return Step::complete;
    }
    if (str::istarts_with(line, "HTTP/")) {
        // A new status line starts a new head (after 1xx or a proxy CONNECT answer).
        reset();
        const std::size_t sp = line.find(' ');
        if (sp == std::string_view::npos || line.size() < sp + 4) return Step::bad;
        head_.http_version = std::string(line.substr(5, sp - 5));
        const auto code = str::parse_u64(line.substr(sp + 1, 3));
        if (!code || *code < 100 || *code > 999) return Step::bad;
        head_.status = static_cast<int>(*code);
        if (line.size() > sp + 4 && line[sp + 4] == ' ') {
            reason_ = line.substr(sp + 5);
            head_.reason = reason_;
        }
        return Step::more;
    }
    if (head_.status == 0) return Step::bad;
    if (line.front() == ' ' || line.front() == '\t') return unfold(line);
    const std::size_t colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0) return Step::more;  // tolerate junk
    const std::string_view name = line.substr(0, colon);
    const std::string_view value = str::trim(line.substr(colon + 1));
    if (str::iequals(name, "content-length") && note_length(value) == Step::bad) return Step::bad;
    head_.headers.add(name, value);
    return Step::more;
}

}  // namespace llmgw::upstream
