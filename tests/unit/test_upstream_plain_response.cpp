#include <doctest/doctest.h>

#include <random>
#include <string>
#include <string_view>

#include "fuzz/plain_head_diff.hpp"
#include "upstream/plain_response.hpp"

using llmgw::Headers;
using llmgw::upstream::parse_plain_response;

using namespace std::string_view_literals;

namespace {

const std::string kJsonAnswer =
    "HTTP/1.1 200 OK\r\n"
    "Date: Sun, 29 Nov 2026 01:00:00 GMT\r\n"
    "Content-Type: application/json\r\n"
    "Content-Length: 29\r\n"
    "Connection: keep-alive\r\n"
    "x-request-id: req_123\r\n"
    "openai-processing-ms: 412\r\n"
    "\r\n"
    "{\"id\":\"chatcmpl-1\",\"ok\":true}";

std::string with(std::string answer, std::string_view from, std::string_view to) {
    const auto at = answer.find(from);
    REQUIRE(at != std::string::npos);
    return answer.replace(at, from.size(), to);
}

}  // namespace

TEST_SUITE("upstream.plain_response") {
    TEST_CASE("a JSON answer is parsed whole: status, fields in order, body, length") {
        Headers fields;
        const std::string two = kJsonAnswer + "HTTP/1.1 200 OK\r\n";  // the views point here
        const auto r = parse_plain_response(two, fields);
        REQUIRE(r.has_value());
        CHECK(r->status == 200);
        CHECK(r->reason == "OK");
        CHECK(r->content_length == 29);
        CHECK(r->body == "{\"id\":\"chatcmpl-1\",\"ok\":true}");
        CHECK(r->keep_alive);
        CHECK(r->size == kJsonAnswer.size());  // stray bytes after it stay in the buffer
        REQUIRE(fields.size() == 6);
        CHECK(fields[4].name == "x-request-id");
        CHECK(fields[4].value == "req_123");
        CHECK(plain_diff::compare_response(kJsonAnswer).disagreement == "");
    }

    TEST_CASE("plain variations are accepted as Beast reads them") {
        const std::string accepted[] = {
            "HTTP/1.1 503 Service Unavailable\r\nRetry-After: 2\r\nContent-Length: 0\r\n\r\n",
            "HTTP/1.1 200 \r\nContent-Length: 2\r\n\r\nok",
            "HTTP/1.1 429 Too\tMany\r\ncontent-length:1\r\nconnection: Close\r\n\r\nx",
            "HTTP/1.1 201 Created\r\nX-Empty:\r\nX-Ows: \t a b \t\r\nContent-Length: 3\r\n\r\nabc",
            "HTTP/1.1 599 Custom\r\nContent-Length: 000\r\n\r\n",
        };
        for (const std::string& answer : accepted) {
            CAPTURE(answer);
            const auto verdict = plain_diff::compare_response(answer);
            CHECK(verdict.accepted);
            CHECK(verdict.disagreement == "");
        }
    }

    TEST_CASE("everything else is left to Beast") {
        const std::string declined[] = {
            kJsonAnswer.substr(0, kJsonAnswer.size() - 1),  // body still arriving
            kJsonAnswer.substr(0, 30),
            "",
            with(kJsonAnswer, "HTTP/1.1 ", "HTTP/1.0 "),
            with(kJsonAnswer, "200 OK", "100 Continue"),
            with(kJsonAnswer, "200 OK", "101 Switching"),
            with(kJsonAnswer, "200 OK", "204 No Content"),
            with(kJsonAnswer, "200 OK", "304 Not Modified"),
            with(kJsonAnswer, "200 OK", "199 Odd"),
            with(kJsonAnswer, "200 OK", "600 Odd"),
            with(kJsonAnswer, "200 OK", "20 OK"),
            with(kJsonAnswer, "200 OK", "200"),
            with(kJsonAnswer, "200 OK", "200 \xc3\x89"),
            with(kJsonAnswer, "Content-Length: 29", "Transfer-Encoding: chunked"),
            with(kJsonAnswer, "Content-Length: 29\r\n", ""),  // read to EOF: Beast's
            with(kJsonAnswer, "Date:", "Content-Length: 29\r\nDate:"),
            with(kJsonAnswer, "Content-Length: 29", "Content-Length: 29,29"),
            with(kJsonAnswer, "Connection: keep-alive", "Connection: keep-alive, Upgrade"),
            with(kJsonAnswer, "Connection: keep-alive", "Upgrade: h2c"),
            with(kJsonAnswer, "Connection: keep-alive", "Proxy-Connection: close"),
            with(kJsonAnswer, "x-request-id: req_123\r\n", "x-request-id: req_123\r\n folded\r\n"),
            with(kJsonAnswer, "x-request-id: req_123\r\n", "x-request-id: req_123\n"),
            with(kJsonAnswer, "req_123", "r\x80q"),
            with(kJsonAnswer, "x-request-id:", "x request id:"),
            "HTTP/1.1 200 OK\r\nX-Big: " + std::string(9000, 'a') + "\r\nContent-Length: 0\r\n\r\n",
        };
        for (const std::string& answer : declined) {
            CAPTURE(answer);
            Headers fields;
            CHECK_FALSE(parse_plain_response(answer, fields).has_value());
        }
    }

    TEST_CASE("random edits of plain answers: accepted only where Beast agrees") {
        const std::string bases[] = {
            kJsonAnswer,
            "HTTP/1.1 503 Busy\r\nretry-after: 1\r\ncontent-length: 2\r\nconnection: close\r\n\r\n{}",
        };
        constexpr std::string_view kAlphabet = "\r\n \t:,;aZ09-!\"()/\x7f\x80\xff\0eHP.1"sv;
        static_assert(kAlphabet.size() == 26);  // the NUL and what follows it too
        std::mt19937 rng(1129);
        int accepted = 0;
        for (int i = 0; i < 40000; ++i) {
            std::string answer = bases[static_cast<std::size_t>(i) % std::size(bases)];
            const int edits = 1 + static_cast<int>(rng() % 3);
            for (int e = 0; e < edits; ++e) {
                const std::size_t at = rng() % (answer.size() + 1);
                const char c = kAlphabet[rng() % kAlphabet.size()];
                switch (rng() % 3) {
                    case 0: answer.insert(at, 1, c); break;
                    case 1: if (at < answer.size()) answer.erase(at, 1); break;
                    default: if (at < answer.size()) answer[at] = c; break;
                }
            }
            const auto verdict = plain_diff::compare_response(answer);
            if (!verdict.disagreement.empty()) {
                CAPTURE(answer);
                FAIL(verdict.disagreement);
            }
            accepted += verdict.accepted ? 1 : 0;
        }
        CHECK(accepted > 3000);
    }
}
