// The client's request, parsed by Beast's HTTP/1 parser straight into what the session keeps:
// the fields go into Headers as they are parsed (no Beast field container to copy from), the
// body into one string, and the few facts the framing checks need are noted on the way.
#pragma once

#include <algorithm>
#include <boost/beast/http/basic_parser.hpp>
#include <cstdint>
#include <string>

#include "server/host_field.hpp"
#include "util/headers.hpp"
#include "util/strings.hpp"

namespace llmgw::server {

// Whether a Transfer-Encoding list names a coding other than chunked; empty elements are no
// codings (RFC 9110 §5.6.1).
inline bool names_other_coding(std::string_view list) {
    while (!list.empty()) {
        const std::size_t comma = list.find(',');
        const std::string_view item = str::trim(list.substr(0, comma));
        if (!item.empty() && !str::iequals(item, "chunked")) return true;
        list.remove_prefix(comma == std::string_view::npos ? list.size() : comma + 1);
    }
    return false;
}

class RequestParser final : public boost::beast::http::basic_parser<true> {
public:
    // Fields are added to `into`, which the caller cleared (its storage is reused).
    explicit RequestParser(Headers& into) : headers(into) { headers.reserve(16, Headers::kTypicalBytes); }

    std::string method;
    std::string target;
    int version = 11;
    Headers& headers;
    std::string body;
    int hosts = 0;                     // Host fields seen
    bool host_valid = true;            // every Host value is uri-host [":" port]
    bool has_transfer_encoding = false;
    bool other_coding = false;  // a Transfer-Encoding names a coding other than chunked
    bool has_content_length = false;
    bool expect_continue = false;      // the first Expect field is 100-continue

private:
    using string_view = boost::beast::string_view;
    using error_code = boost::system::error_code;
    using field = boost::beast::http::field;

    void on_request_impl(boost::beast::http::verb, string_view method_name, string_view request_target,
                         int http_version, error_code&) override {
        method.assign(method_name.data(), method_name.size());
        target.assign(request_target.data(), request_target.size());
        version = http_version;
    }
    void on_response_impl(int, string_view, int, error_code&) override {}
    void on_field_impl(field name, string_view name_text, string_view value, error_code&) override {
        // A chunked body's trailer fields are not request headers (RFC 9110 §6.5.1): the body
        // goes upstream with a length, so they are dropped.
        if (is_header_done()) return;
        const std::string_view v(value.data(), value.size());
        switch (name) {
            case field::host:
                ++hosts;
                host_valid = host_valid && is_valid_host(v);
                break;
            case field::transfer_encoding:
                has_transfer_encoding = true;
                other_coding = other_coding || names_other_coding(v);
                break;
            case field::content_length: has_content_length = true; break;
            case field::expect:
                if (!expect_seen_) expect_continue = str::iequals(v, "100-continue");
                expect_seen_ = true;
                break;
            default: break;
        }
        headers.add(std::string_view(name_text.data(), name_text.size()), v);
    }
    void on_header_impl(error_code&) override {}
    // Room for the announced length, up to kBodyReserveAtMost: a larger body grows as it
    // arrives. Reserving what the head announces would let connections that announce 32 MiB
    // and send three bytes take 32 MiB of address space each (a gateway under a memory limit
    // was killed by the allocator after 84 of them).
    static constexpr std::size_t kBodyReserveAtMost = 16 * 1024;
    void on_body_init_impl(const boost::optional<std::uint64_t>& length, error_code&) override {
        if (length) body.reserve(std::min<std::uint64_t>(*length, kBodyReserveAtMost));
    }
    std::size_t on_body_impl(string_view data, error_code&) override {
        body.append(data.data(), data.size());
        return data.size();
    }
    void on_chunk_header_impl(std::uint64_t, string_view, error_code&) override {}
    std::size_t on_chunk_body_impl(std::uint64_t, string_view data, error_code&) override {
        body.append(data.data(), data.size());
        return data.size();
    }
    void on_finish_impl(error_code&) override {}

    bool expect_seen_ = false;
};

}  // namespace llmgw::server
