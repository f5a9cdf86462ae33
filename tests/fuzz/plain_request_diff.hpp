// The plain-request pass against Beast's parser on the same bytes: whatever the plain pass
// accepts, Beast (RequestParser, as the session sets it up) must accept with the same method,
// target, fields, body, keep-alive and length, and the session's own checks must pass. Shared by
// the unit test and the fuzz target.
#pragma once

#include <boost/asio/buffer.hpp>
#include <cstdint>
#include <string>
#include <string_view>

#include "server/plain_request.hpp"
#include "server/request_parser.hpp"

namespace plain_diff {

// What the plain pass made of `bytes` (nullopt: declined), and why it disagrees with Beast
// ("" when it does not).
struct Verdict {
    bool accepted = false;
    std::string disagreement;
};

inline Verdict compare(std::string_view bytes, std::uint64_t body_limit) {
    Verdict verdict;
    llmgw::Headers plain_fields;
    const auto plain = llmgw::server::parse_plain_request(bytes, body_limit, plain_fields);
    if (!plain) return verdict;
    verdict.accepted = true;
    const auto disagree = [&](std::string why) {
        verdict.disagreement = std::move(why);
        return verdict;
    };

    llmgw::Headers beast_fields;
    llmgw::server::RequestParser parser(beast_fields);
    parser.header_limit(16 * 1024);
    parser.body_limit(body_limit);
    parser.eager(true);
    std::size_t used = 0;
    while (!parser.is_done()) {
        boost::system::error_code ec;
        const std::size_t n =
            parser.put(boost::asio::buffer(bytes.data() + used, bytes.size() - used), ec);
        used += n;
        if (ec) return disagree("Beast refuses it: " + ec.message());
        if (n == 0) return disagree("Beast waits for more bytes");
    }
    if (used != plain->size) return disagree("a different length");
    if (parser.method != plain->method) return disagree("a different method");
    if (parser.target != plain->target) return disagree("a different target");
    if (parser.version != 11) return disagree("not HTTP/1.1 to Beast");
    if (parser.keep_alive() != plain->keep_alive) return disagree("a different keep-alive");
    if (parser.body != plain->body) return disagree("a different body");
    if (parser.has_content_length != plain->has_content_length) {
        return disagree("a different Content-Length presence");
    }
    // The session's checks after Beast's head (session.cpp, on_header_read).
    if (parser.hosts != 1 || parser.has_transfer_encoding || parser.expect_continue) {
        return disagree("the session would refuse or treat it differently");
    }
    if (beast_fields.size() != plain_fields.size()) return disagree("a different field count");
    for (std::size_t i = 0; i < plain_fields.size(); ++i) {
        if (beast_fields[i].name != plain_fields[i].name ||
            beast_fields[i].value != plain_fields[i].value) {
            return disagree("field " + std::to_string(i) + " differs");
        }
    }
    return verdict;
}

}  // namespace plain_diff
