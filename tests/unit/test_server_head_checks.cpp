#include <doctest/doctest.h>

#include <string>
#include <string_view>

#include "server/head_checks.hpp"

using llmgw::ErrorType;
using llmgw::server::check_request_head;

namespace {

constexpr std::uint64_t kBodyLimit = 1000;

std::string head_with(std::string_view fields) {
    return "POST /gateway/openai/v1/x HTTP/1.1\r\nHost: x\r\n" + std::string(fields) + "\r\n";
}

// The status serve answers the head with; 0 when it goes on to read the body.
int status_of(std::string_view fields) {
    const auto outcome = check_request_head(head_with(fields), kBodyLimit);
    return outcome.refusal ? outcome.refusal->status : 0;
}

}  // namespace

TEST_SUITE("server.head_checks") {
    TEST_CASE("a transfer coding other than chunked is 501, a list not ending in chunked 400") {
        // RFC 9112 §6.1: a coding the server does not understand gets 501 (before: Beast took
        // `gzip, chunked` for chunked, and the gzip bytes went upstream as if plain).
        for (const std::string_view te :
             {"Transfer-Encoding: gzip, chunked\r\n", "Transfer-Encoding: identity, chunked\r\n",
              "Transfer-Encoding: foo, chunked\r\n", "Transfer-Encoding: GZIP ,\tChunked\r\n",
              "Transfer-Encoding: chunked;x=1\r\n", "Transfer-Encoding: chunked x\r\n",
              "Transfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n"}) {
            CAPTURE(te);
            const auto outcome = check_request_head(head_with(te), kBodyLimit);
            REQUIRE(outcome.refusal.has_value());
            CHECK(outcome.refusal->status == 501);
            CHECK(outcome.refusal->type == ErrorType::bad_request);
            CHECK(outcome.refusal->message.find("other than chunked") != std::string::npos);
        }
        // RFC 9112 §6.3: chunked not last (or absent) cannot frame a request; Beast's list
        // reader ends at `gzip chunked`'s space, so chunked is not there.
        CHECK(status_of("Transfer-Encoding: gzip\r\n") == 400);
        CHECK(status_of("Transfer-Encoding: chunked, gzip\r\n") == 400);
        CHECK(status_of("Transfer-Encoding: chunked, chunked\r\n") == 400);
        CHECK(status_of("Transfer-Encoding: gzip chunked\r\n") == 400);
        // chunked alone, in any case and with empty list elements, is read.
        for (const std::string_view te :
             {"Transfer-Encoding: chunked\r\n", "Transfer-Encoding: Chunked\r\n",
              "Transfer-Encoding: chunked,\r\n", "Transfer-Encoding: , chunked\r\n"}) {
            CAPTURE(te);
            const auto outcome = check_request_head(head_with(te), kBodyLimit);
            CHECK_FALSE(outcome.refusal.has_value());
            CHECK(outcome.chunked);
        }
    }

    TEST_CASE("a missing Host is refused before the coding, a length over the limit after it") {
        const auto no_host = check_request_head(
            "POST /x HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", kBodyLimit);
        REQUIRE(no_host.refusal.has_value());
        CHECK(no_host.refusal->status == 400);
        CHECK(status_of("Content-Length: 1001\r\n") == 413);
    }

    TEST_CASE("empty lines before the request line are ignored, within the head limit") {
        const std::string head = "GET /x HTTP/1.1\r\nHost: x\r\n\r\n";
        CHECK_FALSE(check_request_head("\r\n\r\n" + head, kBodyLimit).refusal.has_value());
        std::string crlfs;
        while (crlfs.size() + head.size() <= llmgw::server::kHeaderLimit) crlfs += "\r\n";
        const auto outcome = check_request_head(crlfs + head, kBodyLimit);
        REQUIRE(outcome.refusal.has_value());
        CHECK(outcome.refusal->status == 431);
        CHECK_FALSE(check_request_head(crlfs.substr(2) + head, kBodyLimit).refusal.has_value());
        // A bare LF is not an empty line here: refused as Beast refuses it.
        const auto lf = check_request_head("\n" + head, kBodyLimit);
        REQUIRE(lf.refusal.has_value());
        CHECK(lf.refusal->status == 400);
    }

    TEST_CASE("a head over 16 KiB is 414 when its request line does not end within it, else 431") {
        // RFC 9110 §15.5.15: the target is then what is too long (nginx answers 414 too).
        const auto line = [](std::size_t size) {  // a request line of `size` bytes, CRLF included
            return "GET /" + std::string(size - 16, 'a') + " HTTP/1.1\r\n";
        };
        const auto status = [](const std::string& head) {
            const auto outcome = check_request_head(head, kBodyLimit);
            return outcome.refusal ? outcome.refusal->status : 0;
        };
        constexpr std::size_t limit = llmgw::server::kHeaderLimit;
        CHECK(status(line(limit + 1) + "Host: x\r\n\r\n") == 414);
        CHECK(status(line(limit + 1)) == 414);  // the head's end never came
        CHECK(status(line(limit) + "Host: x\r\n\r\n") == 431);
        CHECK(status(line(limit - 20) + "Host: x\r\n\r\n") == 0);
        CHECK(status(line(1000) + "X-Big: " + std::string(limit, 'b') + "\r\n\r\n") == 431);
        // The empty lines before it count in the head, as in the limit.
        CHECK(status("\r\n\r\n" + line(limit - 3) + "Host: x\r\n\r\n") == 414);
        const auto refused = check_request_head(line(limit + 1), kBodyLimit).refusal;
        REQUIRE(refused.has_value());
        CHECK(refused->type == ErrorType::bad_request);
    }

    TEST_CASE("an invalid Host is 400, in any HTTP version; an empty one is served") {
        for (const std::string_view request : {"GET /x HTTP/1.1\r\nHost: a b/c\r\n\r\n",
                                               "GET /x HTTP/1.1\r\nHost: ex ample.com\r\n\r\n",
                                               "GET /x HTTP/1.0\r\nHost: user:pw@evil\r\n\r\n",
                                               "GET http://a/x HTTP/1.1\r\nHost: a/b\r\n\r\n"}) {
            CAPTURE(request);
            const auto outcome = check_request_head(request, kBodyLimit);
            REQUIRE(outcome.refusal.has_value());
            CHECK(outcome.refusal->status == 400);
            CHECK(outcome.refusal->message.find("Host") != std::string::npos);
        }
        CHECK_FALSE(check_request_head("GET /x HTTP/1.1\r\nHost:\r\n\r\n", kBodyLimit).refusal);
        CHECK_FALSE(
            check_request_head("GET /x HTTP/1.1\r\nHost: [::1]:8787\r\n\r\n", kBodyLimit).refusal);
    }

    TEST_CASE("the version of a refused request line: 1.2 to 1.9 mended, another major 505") {
        using llmgw::server::refusal_of_version;
        using llmgw::server::request_line_version;
        const auto v = request_line_version("GET / HTTP/1.2\r\nHost: x\r\n\r\n");
        CHECK((v.major == 1 && v.minor == 2));
        CHECK(std::string_view("GET / HTTP/1.2").substr(v.minor_at, 1) == "2");
        const auto h2 = request_line_version("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");
        CHECK((h2.major == 2 && h2.minor == 0));
        CHECK(refusal_of_version(h2).status == 505);
        CHECK(refusal_of_version(h2).message.starts_with("HTTP/2.0 is not supported"));
        for (const std::string_view bad :
             {"GET / HTTP/1.10\r\n", "GET / HTTP/1\r\n", "GET / HTTP/x.1\r\n", "GET / HTTP/1.1",
              "GET /HTTP/1.1\r\n", "HTTP/1.1\r\n", " / HTTP/2.0\r\n", "GET  HTTP/2.0\r\n",
              // Not the request line's: a space in the target, a bare LF before a field.
              "GET /x?q=a b HTTP/1.1\r\nHost: x\r\n\r\n", "GET /x HTTP/1.1 HTTP/2.0\r\n",
              "GET /x HTTP/1.1\nX: HTTP/2.0\r\n\r\n", "GET /x HTTP/1.1\nX: HTTP/1.5\r\n\r\n"}) {
            CAPTURE(bad);
            CHECK(request_line_version(bad).major == -1);
            CHECK(refusal_of_version(request_line_version(bad)).status == 400);
        }
        // A version Beast refuses for another reason is no version to refuse: 400.
        CHECK(refusal_of_version(request_line_version("GET / HTTP/1.1\r\n")).status == 400);
        CHECK(refusal_of_version(request_line_version("GET / HTTP/0.9\r\n")).status == 400);
    }
}
