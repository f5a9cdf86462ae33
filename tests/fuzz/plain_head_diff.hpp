// The plain passes against Beast's parsers on the same bytes. Whatever the request pass accepts,
// Beast (RequestParser, as the session sets it up) must accept with the same method, target,
// fields, body, keep-alive and length, and the session's own checks must pass; whatever the
// response pass accepts, Beast's response parser (as H1Attempt sets it up) must read with the
// same status, fields, body, length and reusability. Shared by the unit tests and the fuzz target.
#pragma once

#include <boost/asio/buffer.hpp>
#include <cstdint>
#include <string>
#include <string_view>

#include <boost/beast/http/basic_parser.hpp>
#include <limits>

#include "server/plain_request.hpp"
#include "server/request_parser.hpp"
#include "upstream/plain_response.hpp"

namespace plain_diff {

// Whether the plain pass accepted `bytes`, and why it disagrees with Beast ("" when it does not).
struct Verdict {
    bool accepted = false;
    std::string disagreement;
};

inline std::string first_different_field(const llmgw::Headers& a, const llmgw::Headers& b) {
    if (a.size() != b.size()) return "a different field count";
    for (std::size_t i = 0; i < a.size(); ++i) {
        if (a[i].name != b[i].name || a[i].value != b[i].value) {
            return "field " + std::to_string(i) + " differs";
        }
    }
    return {};
}

// Puts `bytes` into a Beast parser until its message is done; "" then, else why it is not.
template <class Parser>
std::string feed_whole(Parser& parser, std::string_view bytes, std::size_t& used) {
    while (!parser.is_done()) {
        boost::system::error_code ec;
        const std::size_t n =
            parser.put(boost::asio::buffer(bytes.data() + used, bytes.size() - used), ec);
        used += n;
        if (ec) return "Beast refuses it: " + ec.message();
        if (n == 0) return "Beast waits for more bytes";
    }
    return {};
}

inline Verdict compare_request(std::string_view bytes, std::uint64_t body_limit) {
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
    if (auto why = feed_whole(parser, bytes, used); !why.empty()) return disagree(std::move(why));
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
    if (parser.hosts != 1 || !parser.host_valid || parser.has_transfer_encoding ||
        parser.expect_continue) {
        return disagree("the session would refuse or treat it differently");
    }
    if (auto why = first_different_field(beast_fields, plain_fields); !why.empty()) {
        return disagree(std::move(why));
    }
    return verdict;
}

// Beast's response parser, set up as H1Attempt's, collecting what it reports.
class BeastResponse final : public boost::beast::http::basic_parser<false> {
public:
    BeastResponse() {
        header_limit(64 * 1024);
        body_limit(std::numeric_limits<std::uint64_t>::max());
        eager(true);
    }
    int status = 0;
    int version = 0;
    std::string reason;
    llmgw::Headers fields;
    std::string body;

private:
    using sv = boost::beast::string_view;
    using ec_t = boost::system::error_code;
    void on_request_impl(boost::beast::http::verb, sv, sv, int, ec_t&) override {}
    void on_response_impl(int code, sv why, int v, ec_t&) override {
        status = code;
        reason.assign(why.data(), why.size());
        version = v;
    }
    void on_field_impl(boost::beast::http::field, sv name, sv value, ec_t&) override {
        fields.add(std::string_view(name.data(), name.size()), std::string_view(value.data(), value.size()));
    }
    void on_header_impl(ec_t&) override {}
    void on_body_init_impl(const boost::optional<std::uint64_t>&, ec_t&) override {}
    std::size_t on_body_impl(sv data, ec_t&) override {
        body.append(data.data(), data.size());
        return data.size();
    }
    void on_chunk_header_impl(std::uint64_t, sv, ec_t&) override {}
    std::size_t on_chunk_body_impl(std::uint64_t, sv data, ec_t&) override {
        body.append(data.data(), data.size());
        return data.size();
    }
    void on_finish_impl(ec_t&) override {}
};

inline Verdict compare_response(std::string_view bytes) {
    Verdict verdict;
    llmgw::Headers plain_fields;
    const auto plain = llmgw::upstream::parse_plain_response(bytes, plain_fields);
    if (!plain) return verdict;
    verdict.accepted = true;
    const auto disagree = [&](std::string why) {
        verdict.disagreement = std::move(why);
        return verdict;
    };

    BeastResponse parser;
    std::size_t used = 0;
    if (auto why = feed_whole(parser, bytes, used); !why.empty()) return disagree(std::move(why));
    if (used != plain->size) return disagree("a different length");
    if (parser.status != plain->status) return disagree("a different status");
    if (parser.reason != plain->reason) return disagree("a different reason phrase");
    if (parser.version != 11) return disagree("not HTTP/1.1 to Beast");
    if (parser.content_length() != plain->content_length) return disagree("a different Content-Length");
    if ((parser.keep_alive() && !parser.need_eof()) != plain->keep_alive) {
        return disagree("a different reusability");
    }
    if (parser.body != plain->body) return disagree("a different body");
    if (auto why = first_different_field(parser.fields, plain_fields); !why.empty()) {
        return disagree(std::move(why));
    }
    return verdict;
}

}  // namespace plain_diff
