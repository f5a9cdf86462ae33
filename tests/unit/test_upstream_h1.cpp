// The native HTTP/1.1 client's pure parts: which URLs it carries, and the request head it writes.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "upstream/h1_message.hpp"
#include "upstream/h1_url.hpp"

using namespace llmgw;
using namespace llmgw::upstream;

TEST_SUITE("upstream.h1") {
    TEST_CASE("plain http URLs: host, port, Host header, pool key, request target") {
        auto t = parse_h1_target("http://127.0.0.1:8080/v1/chat?x=1");
        REQUIRE(t);
        CHECK(t->host == "127.0.0.1");
        CHECK(t->port == 8080);
        CHECK(t->authority == "127.0.0.1:8080");
        CHECK(t->origin == "127.0.0.1:8080");
        CHECK(t->target == "/v1/chat?x=1");

        t = parse_h1_target("HTTP://Localhost/api");
        REQUIRE(t);
        CHECK(t->host == "Localhost");
        CHECK(t->port == 80);
        CHECK(t->authority == "Localhost");  // the default port is left out, as curl does
        CHECK(t->origin == "Localhost:80");
        CHECK(t->target == "/api");

        t = parse_h1_target("http://ollama.local:11434");
        REQUIRE(t);
        CHECK(t->target == "/");

        t = parse_h1_target("http://[::1]:9000/x");
        REQUIRE(t);
        CHECK(t->host == "::1");
        CHECK(t->port == 9000);
        CHECK(t->authority == "[::1]:9000");
        CHECK(t->origin == "::1:9000");

        t = parse_h1_target("http://h:80/x");
        REQUIRE(t);
        CHECK(t->authority == "h");

        t = parse_h1_target("http://h:/x");  // an empty port is the default (RFC 3986 §3.2.3)
        REQUIRE(t);
        CHECK(t->port == 80);
        CHECK(t->authority == "h");
    }

    TEST_CASE("everything else stays with libcurl") {
        for (const char* url : {"https://api.openai.com/v1/models",  // TLS
                                "ftp://h/x", "http://", "http:///x",
                                "http://user:pw@h/x",                 // user info
                                "http://h/x#frag",                    // fragment
                                "http://h?x=1",                       // curl inserts the "/"
                                "http://h:0/x", "http://h:65536/x", "http://h:12ab/x",
                                "http://::1/x",                       // IPv6 without brackets
                                "http://[::1/x", "http://[::1]x/y",
                                "http://h%41/x", "http://bücher.de/x",  // encoded or IDN names
                                "http://h/a b", "http://h/a\tb", "http://h/a\r\nX: y"}) {
            const std::string shown = url;
            CAPTURE(shown);
            CHECK_FALSE(parse_h1_target(url));
        }
    }

    TEST_CASE("the per-loop cache answers exactly as parse_h1_target, first time and after") {
        H1TargetCache cache;
        const std::vector<std::string> urls{
            "http://127.0.0.1:8080/v1/chat?x=1", "http://127.0.0.1:8080/v2", "http://127.0.0.1:8080",
            "HTTP://Localhost/api", "http://[::1]:9000/x", "http://h:/x", "http://h:80/x",
            "http://h?x=1", "http://h/x#frag", "http://h/a b", "http://h/a\r\nX: y",
            "http://user:pw@h/x", "http://h:65536/x", "https://api.openai.com/v1/models",
            "ftp://h/x", "http://", "http:///x", "http://[::1/x", "http://h%41/x",
            // one after another, each a prefix of the next, which the last-origin shortcut
            // must tell apart from the same origin
            "http://h/x", "http://h:81/x", "http://hh/x", "http://h", "http://h#frag", "http://h?x",
            "http://h/y", "http://h@i/x", "http:///x", "http://"};
        for (int round = 0; round < 2; ++round) {
            for (const std::string& url : urls) {
                CAPTURE(url);
                const auto want = parse_h1_target(url);
                const auto got = cache.get(url);
                REQUIRE(want.has_value() == got.has_value());
                if (!want) continue;
                CHECK(got->host == want->host);
                CHECK(got->port == want->port);
                CHECK(got->authority == want->authority);
                CHECK(got->origin == want->origin);
                CHECK(got->target == want->target);
                const bool into_url = want->target.data() >= url.data() &&
                                      want->target.data() < url.data() + url.size();
                if (into_url) CHECK(got->target.data() == want->target.data());  // a view, not a copy
            }
        }
    }

    TEST_CASE("the cache starts over past its size and still answers each origin as its own") {
        H1TargetCache cache;
        for (int i = 0; i < 600; ++i) {  // past kMaxOrigins twice, the last hit dropped each time
            const std::string url =
                "http://h" + std::to_string(i % 300) + ":81/x" + std::to_string(i);
            CAPTURE(url);
            const auto got = cache.get(url);
            REQUIRE(got);
            CHECK(got->host == "h" + std::to_string(i % 300));
            CHECK(got->target == "/x" + std::to_string(i));
            const auto again = cache.get("http://h0:81/y");  // another origin in between
            REQUIRE(again);
            CHECK(again->origin == "h0:81");
            CHECK(again->target == "/y");
        }
    }

    TEST_CASE("request head: request line, Host first, headers in order, Content-Length") {
        UpstreamRequest r;
        r.method = "POST";
        r.url = "http://127.0.0.1:9/v1/chat?a=1";
        r.headers = {{"Authorization", "Bearer k"}, {"Expect", "100-continue"}, {"X-Empty", ""}};
        r.body = std::make_shared<const std::string>("{\"a\":1}");
        const auto t = parse_h1_target(r.url);
        REQUIRE(t);
        const auto head = h1_request_head(r, *t);
        REQUIRE(head);
        CHECK(*head ==
              "POST /v1/chat?a=1 HTTP/1.1\r\nHost: 127.0.0.1:9\r\nAuthorization: Bearer k\r\n"
              "X-Empty: \r\nContent-Length: 7\r\n\r\n");

        r.method = "GET";
        r.body.reset();
        CHECK(*h1_request_head(r, *t) ==
              "GET /v1/chat?a=1 HTTP/1.1\r\nHost: 127.0.0.1:9\r\nAuthorization: Bearer k\r\n"
              "X-Empty: \r\n\r\n");

        r.method = "PUT";  // a method that expects a body says Content-Length: 0
        CHECK(h1_request_head(r, *t)->find("Content-Length: 0\r\n") != std::string::npos);
    }

    TEST_CASE("framing headers from a service's configuration never reach the upstream") {
        const auto t = parse_h1_target("http://127.0.0.1:9/v1");
        REQUIRE(t);
        UpstreamRequest r;
        r.method = "POST";
        r.body = std::make_shared<const std::string>("{}");
        r.headers = {{"Content-Length", "0"}, {"Transfer-Encoding", "chunked"},
                     {"Connection", "close"}, {"Keep-Alive", "timeout=1"}, {"TE", "trailers"},
                     {"Upgrade", "h2c"}, {"Trailer", "X"}, {"X-Ok", "1"}};
        CHECK(*h1_request_head(r, *t) ==
              "POST /v1 HTTP/1.1\r\nHost: 127.0.0.1:9\r\nX-Ok: 1\r\nContent-Length: 2\r\n\r\n");
        r.headers = {{"host", "api.example"}, {"X-Ok", "1"}};  // replaces the authority, once
        CHECK(*h1_request_head(r, *t) ==
              "POST /v1 HTTP/1.1\r\nHost: api.example\r\nX-Ok: 1\r\nContent-Length: 2\r\n\r\n");
        r.headers = {{"Host", "a\r\nX: y"}};
        std::string bad;
        CHECK_FALSE(h1_request_head(r, *t, &bad));
        CHECK(bad == "Host");
    }

    TEST_CASE("a head that would change the message is never written") {
        const auto t = parse_h1_target("http://h/x");
        REQUIRE(t);
        UpstreamRequest r;
        r.method = "GET";
        std::string bad;
        r.headers = {{"X-Key", "abc\r\nX-Injected: 1"}};
        CHECK_FALSE(h1_request_head(r, *t, &bad));
        CHECK(bad == "X-Key");
        r.headers = {{"X-Key", std::string("a\0b", 3)}};
        CHECK_FALSE(h1_request_head(r, *t));
        r.headers = {{"Bad Name", "v"}};
        CHECK_FALSE(h1_request_head(r, *t, &bad));
        CHECK(bad == "Bad Name");
        r.headers = {{"", "v"}};
        CHECK_FALSE(h1_request_head(r, *t));
        r.headers = {};
        r.method = "GET /evil HTTP/1.1\r\n";
        CHECK_FALSE(h1_request_head(r, *t, &bad));
        CHECK(bad == "(method)");
    }
}
