#include <doctest/doctest.h>

#include <random>
#include <string>
#include <string_view>

#include "fuzz/plain_head_diff.hpp"
#include "server/plain_request.hpp"

using llmgw::Headers;
using llmgw::server::parse_plain_request;

using namespace std::string_view_literals;

namespace {

constexpr std::uint64_t kBodyLimit = 1024 * 1024;

const std::string kSdkRequest =
    "POST /gateway/openai/v1/chat/completions HTTP/1.1\r\n"
    "Host: 127.0.0.1:8787\r\n"
    "Accept-Encoding: gzip, deflate\r\n"
    "Connection: keep-alive\r\n"
    "Accept: application/json\r\n"
    "Content-Type: application/json\r\n"
    "User-Agent: OpenAI/Python 1.51.0\r\n"
    "Authorization: Bearer sk-test\r\n"
    "X-Stainless-Lang: python\r\n"
    "Content-Length: 27\r\n"
    "\r\n"
    "{\"model\":\"m\",\"stream\":true}";

std::string with(std::string request, std::string_view from, std::string_view to) {
    const auto at = request.find(from);
    REQUIRE(at != std::string::npos);
    return request.replace(at, from.size(), to);
}

}  // namespace

TEST_SUITE("server.plain_request") {
    TEST_CASE("an SDK's request is parsed whole: line, fields in order, body, length") {
        Headers fields;
        const std::string pipelined = kSdkRequest + "GET / HTTP/1.1\r\n";  // the views point here
        const auto r = parse_plain_request(pipelined, kBodyLimit, fields);
        REQUIRE(r.has_value());
        CHECK(r->method == "POST");
        CHECK(r->target == "/gateway/openai/v1/chat/completions");
        CHECK(r->keep_alive);
        CHECK(r->has_content_length);
        CHECK(r->body == "{\"model\":\"m\",\"stream\":true}");
        CHECK(r->size == kSdkRequest.size());  // the pipelined bytes after it stay
        REQUIRE(fields.size() == 9);
        CHECK(fields[0].name == "Host");
        CHECK(fields[0].value == "127.0.0.1:8787");
        CHECK(fields[8].name == "Content-Length");
        CHECK(plain_diff::compare_request(kSdkRequest, kBodyLimit).disagreement == "");
    }

    TEST_CASE("plain variations are accepted as Beast reads them") {
        const std::string accepted[] = {
            "GET /health HTTP/1.1\r\nHost: x\r\n\r\n",
            "GET /health HTTP/1.1\r\nhost:x\r\n\r\n",
            "GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
            "GET /health HTTP/1.1\r\nHost: x\r\nConnection: Keep-Alive\r\n\r\n",
            "GET /health HTTP/1.1\r\nHost: x\r\nX-Empty:\r\nX-Spaces: \t \r\n\r\n",
            "GET /health HTTP/1.1\r\nHost: x\r\nX-Inner: a  b\tc \t\r\n\r\n",
            "POST /x?a=1&b=%20 HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n",
            "POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: 007\r\n\r\nabcdefg",
            "PATCH /x HTTP/1.1\r\nHost: x\r\nX-Token: !#$%&'*+-.^_`|~\r\n\r\n",
            "M-SEARCH * HTTP/1.1\r\nHost: x\r\n\r\n",
        };
        for (const std::string& request : accepted) {
            CAPTURE(request);
            const auto verdict = plain_diff::compare_request(request, kBodyLimit);
            CHECK(verdict.accepted);
            CHECK(verdict.disagreement == "");
        }
    }

    TEST_CASE("everything else is left to Beast") {
        const std::string declined[] = {
            // still arriving
            kSdkRequest.substr(0, kSdkRequest.size() - 1),
            kSdkRequest.substr(0, kSdkRequest.find("\r\n\r\n") + 2),
            "GET / HTTP/1.1\r\nHost: x\r\n",
            "",
            // not the plain form
            with(kSdkRequest, "HTTP/1.1\r\n", "HTTP/1.0\r\n"),
            with(kSdkRequest, "HTTP/1.1\r\n", "HTTP/1.1\n"),
            with(kSdkRequest, "Accept: application/json\r\n",
                 "Accept: application/json\r\n json\r\n"),
            with(kSdkRequest, "Accept: application/json\r\n", "Accept: application/json\n"),
            with(kSdkRequest, "Content-Length: 27", "Transfer-Encoding: chunked"),
            with(kSdkRequest, "Accept: application/json", "Expect: 100-continue"),
            with(kSdkRequest, "Accept: application/json", "Upgrade: websocket"),
            with(kSdkRequest, "Accept: application/json", "Proxy-Connection: close"),
            with(kSdkRequest, "Connection: keep-alive", "Connection: keep-alive, Upgrade"),
            with(kSdkRequest, "Content-Length: 27", "Content-Length: 27, 27"),
            with(kSdkRequest, "Content-Length: 27", "Content-Length: +27"),
            with(kSdkRequest, "Content-Length: 27", "Content-Length: 1234567890123456789"),
            with(kSdkRequest, "Accept: application/json", "Content-Length: 27"),
            with(kSdkRequest, "Host: 127.0.0.1:8787\r\n", ""),
            with(kSdkRequest, "Accept: application/json", "Host: again"),
            with(kSdkRequest, "Host: 127.0.0.1:8787", "Host: a b/c"),
            with(kSdkRequest, "Host: 127.0.0.1:8787", "Host: user@127.0.0.1:8787"),
            with(kSdkRequest, "User-Agent: OpenAI", "User-Agent: caf\xc3\xa9"),
            with(kSdkRequest, "User-Agent: OpenAI", "User-Agent: \x7f"),
            with(kSdkRequest, "chat/completions", "caf\xc3\xa9"),
            with(kSdkRequest, "Accept:", "Accept :"),
            with(kSdkRequest, "Accept:", ":"),
            with(kSdkRequest, "POST ", "POST  "),
            with(kSdkRequest, "POST ", "P(ST "),
            "\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n",
            "GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(9000, 'a') + "\r\n\r\n",
        };
        for (const std::string& request : declined) {
            CAPTURE(request);
            Headers fields;
            CHECK_FALSE(parse_plain_request(request, kBodyLimit, fields).has_value());
        }
        Headers fields;
        CHECK_FALSE(parse_plain_request(kSdkRequest, 26, fields).has_value());  // over the limit
        CHECK(parse_plain_request(kSdkRequest, 27, fields).has_value());
    }

    TEST_CASE("random edits of plain requests: accepted only where Beast agrees") {
        const std::string bases[] = {
            kSdkRequest,
            "GET /gateway/openai/v1/models HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
            "POST /x HTTP/1.1\r\nhost: a\r\ncontent-length: 3\r\nx-a:\t1 \r\n\r\nabc",
        };
        constexpr std::string_view kAlphabet = "\r\n \t:,;aZ09-!\"()/\x7f\x80\xff\0eHP.1"sv;
        static_assert(kAlphabet.size() == 26);  // the NUL and what follows it too
        std::mt19937 rng(20261129);
        int accepted = 0;
        for (int i = 0; i < 60000; ++i) {
            std::string request = bases[static_cast<std::size_t>(i) % std::size(bases)];
            const int edits = 1 + static_cast<int>(rng() % 3);
            for (int e = 0; e < edits; ++e) {
                const std::size_t at = rng() % (request.size() + 1);
                const char c = kAlphabet[rng() % kAlphabet.size()];
                switch (rng() % 3) {
                    case 0: request.insert(at, 1, c); break;
                    case 1: if (at < request.size()) request.erase(at, 1); break;
                    default: if (at < request.size()) request[at] = c; break;
                }
            }
            const auto verdict = plain_diff::compare_request(request, kBodyLimit);
            if (!verdict.disagreement.empty()) {
                CAPTURE(request);
                FAIL(verdict.disagreement);
            }
            accepted += verdict.accepted ? 1 : 0;
        }
        CHECK(accepted > 5000);  // the edits leave many requests plain: both paths were compared
    }
}
