// Which names the gateway looks up for libcurl (CURLOPT_RESOLVE), and the authority parser it
// shares with the native client. (The lookups themselves: test_upstream_client.py's
// NamespaceTest, which also shows that a proxy is left to look names up.)
#include <doctest/doctest.h>

#include <string>

#include "upstream/url_host.hpp"

using llmgw::upstream::name_for_libcurl;
using llmgw::upstream::parse_authority;
using llmgw::upstream::proxy_configured;

TEST_SUITE("upstream.url_host") {
    TEST_CASE("authority: host and port, brackets taken off, the scheme's port by default") {
        auto h = parse_authority("api.example.com", 443);
        REQUIRE(h);
        CHECK(h->host == "api.example.com");
        CHECK(h->port == 443);
        CHECK_FALSE(h->bracketed);
        h = parse_authority("[::1]:8443", 443);
        REQUIRE(h);
        CHECK(h->host == "::1");
        CHECK(h->port == 8443);
        CHECK(h->bracketed);
        h = parse_authority("h:", 80);  // RFC 3986 §3.2.3
        REQUIRE(h);
        CHECK(h->port == 80);
        for (const char* bad : {"", "u@h", "h:0", "h:65536", "h:x", "::1", "[::1", "[::1]x", "h%41",
                                "bücher.de", "[h:1]:2:3"}) {
            const std::string shown = bad;
            CAPTURE(shown);
            CHECK_FALSE(parse_authority(bad, 80));
        }
    }

    TEST_CASE("libcurl is handed the names of https and http URLs, never addresses") {
        if (proxy_configured("https") || proxy_configured("http")) {
            MESSAGE("a proxy is configured in this environment: these cases need none");
            return;
        }
        auto n = name_for_libcurl("https://api.openai.com/v1/chat/completions");
        REQUIRE(n);
        CHECK(n->host == "api.openai.com");
        CHECK(n->port == 443);
        n = name_for_libcurl("HTTPS://Gateway.Example:8443");
        REQUIRE(n);
        CHECK(n->host == "Gateway.Example");
        CHECK(n->port == 8443);
        n = name_for_libcurl("https://localhost.example/v1");
        REQUIRE(n);
        CHECK(n->host == "localhost.example");
        n = name_for_libcurl("http://ollama.local:11434/api?x#y");
        REQUIRE(n);
        CHECK(n->host == "ollama.local");
        CHECK(n->port == 11434);
        for (const char* url :
             {"https://127.0.0.1:8443/v1", "https://[::1]/v1",
              "https://127.1/v1",            // shorthand IPv4: an address too
              "https://api.openai.com./v1",  // libcurl strips the dot itself
              "https://LocalHost:8443/v1",   // libcurl answers these itself
              "http://app.localhost:3000/v1", "https://user@api.openai.com/v1",
              "https://bücher.de/", "ftp://files.example/x", "api.openai.com/v1"}) {
            const std::string shown = url;
            CAPTURE(shown);
            CHECK_FALSE(name_for_libcurl(url));
        }
    }

    TEST_CASE("NO_PROXY as libcurl reads it: names and their subdomains, any case, or *") {
        using llmgw::upstream::no_proxy_exempts;
        CHECK(no_proxy_exempts("api.openai.com", "*"));
        CHECK(no_proxy_exempts("api.openai.com", "openai.com"));
        CHECK(no_proxy_exempts("api.openai.com", ".OpenAI.com"));
        CHECK(no_proxy_exempts("api.openai.com.", "openai.com."));
        CHECK(no_proxy_exempts("api.openai.com", "localhost, api.openai.com"));
        CHECK(no_proxy_exempts("api.openai.com", "localhost,,  ,api.openai.com"));
        CHECK(no_proxy_exempts("openai.com", "openai.com"));
        CHECK_FALSE(no_proxy_exempts("api.openai.com", ""));
        CHECK_FALSE(no_proxy_exempts("api.openai.com", " *"));      // only "*" itself
        CHECK_FALSE(no_proxy_exempts("api.openai.com", "ai.com"));  // not a domain of it
        CHECK_FALSE(no_proxy_exempts("api.openai.com", "api.openai.com.uk"));
        CHECK_FALSE(no_proxy_exempts("api.openai.com", "10.0.0.0/8,::1"));
        CHECK(no_proxy_exempts("api.openai.com", "localhost api.openai.com"));  // 7.88: blanks too
        CHECK(no_proxy_exempts("api.openai.com", "localhost\t.openai.com ,x"));
    }
}
