#include <doctest/doctest.h>

#include <string>
#include <string_view>
#include <vector>

#include "routing/header_policy.hpp"
#include "routing_fixtures.hpp"

using llmgw::HeaderField;
using llmgw::Headers;
using llmgw::routing::ConnectionOptions;
using llmgw::routing::is_dropped_response_header;
using llmgw::routing::is_hop_by_hop;
using llmgw::routing::upstream_request_headers;

namespace {

std::vector<std::string> names_of(const Headers& headers) {
    std::vector<std::string> names;
    for (const auto& field : headers) names.emplace_back(field.name);
    return names;
}

llmgw::config::Service plain_service() {
    return llmgw::test::make_service("openai",
                                     llmgw::test::make_base_url("https", "api.openai.com", 0, ""));
}

}  // namespace

TEST_SUITE("routing.header_policy") {
    TEST_CASE("request: drops hop-by-hop and identity headers, keeps the rest in order") {
        const Headers client{
            {"Host", "localhost:8787"},
            {"Authorization", "Bearer sk-x"},
            {"Connection", "keep-alive, X-Secret-Hop"},
            {"Keep-Alive", "timeout=5"},
            {"Proxy-Connection", "keep-alive"},
            {"Proxy-Authorization", "Basic x"},
            {"TE", "trailers"},
            {"Trailer", "X-Checksum"},
            {"Transfer-Encoding", "chunked"},
            {"Upgrade", "websocket"},
            {"Content-Length", "42"},
            {"Content-Type", "application/json"},
            {"Cookie", "session=1"},
            {"Forwarded", "for=1.2.3.4"},
            {"X-Forwarded-For", "1.2.3.4"},
            {"x-forwarded-proto", "https"},
            {"X-Real-IP", "1.2.3.4"},
            {"True-Client-IP", "1.2.3.4"},
            {"CF-Connecting-IP", "1.2.3.4"},
            {"cf-ray", "abc"},
            {"X-Vercel-Id", "v"},
            {"x-vercel-forwarded-for", "1.2.3.4"},
            {"x-secret-hop", "dropped because Connection names it"},
            {"x-stainless-lang", "python"},
            {"x-stainless-retry-count", "0"},
            {"anthropic-beta", "tools-2024"},
            {"OpenAI-Organization", "org-1"},
            {"X-Server-Timeout", "600"},
            {"X-Correlation-Id", "corr-1"},
            {"X-Trace-Id", "trace-1"},
            {"Accept-Encoding", "gzip"},
            {"Content-Encoding", "gzip"},
            {"Expect", "100-continue"},
            {"X-Cfg", "kept: not the cf- prefix"},
        };
        const Headers out = upstream_request_headers(client, plain_service(), "req-1");
        const std::vector<std::string> expected{
            "Authorization",  "Content-Type",        "x-stainless-lang", "x-stainless-retry-count",
            "anthropic-beta", "OpenAI-Organization", "X-Server-Timeout", "X-Correlation-Id",
            "X-Trace-Id",     "Accept-Encoding",     "Content-Encoding", "Expect",
            "X-Cfg",          "X-Request-Id",        "User-Agent"};
        CHECK(names_of(out) == expected);
        CHECK(*out.get("authorization") == "Bearer sk-x");
        CHECK(*out.get("x-stainless-lang") == "python");
        CHECK(*out.get("X-Server-Timeout") == "600");
        CHECK(*out.get("X-Request-Id") == "req-1");
        CHECK(*out.get("User-Agent") == "llmgw/" LLMGW_VERSION);
    }

    TEST_CASE("request: every Connection field and option is honoured") {
        const Headers client{
            {"connection", " Foo ,bar"},
            {"Connection", "close"},
            {"foo", "1"},
            {"BAR", "2"},
            {"baz", "3"},
        };
        const Headers out = upstream_request_headers(client, plain_service(), "id");
        CHECK(names_of(out) == std::vector<std::string>{"baz", "X-Request-Id", "User-Agent"});
    }

    TEST_CASE("ConnectionOptions: every option of every Connection field, in any case") {
        Headers fields{{"Connection", " Foo ,bar,, \x80, \xff"}, {"x", "y"}, {"CONNECTION", "B"}};
        std::string many;
        for (int i = 0; i < 3000; ++i) many += "o" + std::to_string(i) + ",";
        fields.add("connection", many);
        const ConnectionOptions options(fields);
        for (const char* listed : {"foo", "FOO", "Bar", "b", "o0", "O2999", "o1500", "\x80", "\xff"}) {
            CAPTURE(listed);
            CHECK(options.lists(listed));
        }
        for (const char* other : {"", "fo", "fooo", "bar ", "a", "c", "o3000", "o", "x"}) {
            CAPTURE(other);
            CHECK_FALSE(options.lists(other));
        }
        CHECK_FALSE(ConnectionOptions(Headers{{"Keep-Alive", "foo"}}).lists("foo"));
    }

    TEST_CASE("request: X-Request-Id is replaced in place, once") {
        const Headers client{
            {"Accept", "*/*"},
            {"x-request-id", "client-id"},
            {"Content-Type", "application/json"},
            {"X-Request-ID", "second"},
        };
        const Headers out = upstream_request_headers(client, plain_service(), "gw-id");
        CHECK(names_of(out) ==
              std::vector<std::string>{"Accept", "x-request-id", "Content-Type", "User-Agent"});
        CHECK(*out.get("X-Request-Id") == "gw-id");
    }

    TEST_CASE("request: service defaults are added unless the client sent them") {
        auto service = plain_service();
        service.headers.add("anthropic-version", "2023-06-01");
        service.headers.add("X-Default", "d");
        service.headers.add("User-Agent", "service-agent");
        service.headers.add("X-Request-Id", "never-from-config");

        const Headers client{{"Anthropic-Version", "2024-01-01"}};
        const Headers out = upstream_request_headers(client, service, "rid");
        CHECK(names_of(out) == std::vector<std::string>{"Anthropic-Version", "X-Request-Id",
                                                        "X-Default", "User-Agent"});
        CHECK(*out.get("anthropic-version") == "2024-01-01");
        CHECK(*out.get("x-default") == "d");
        CHECK(*out.get("user-agent") == "service-agent");
        CHECK(*out.get("x-request-id") == "rid");
    }

    TEST_CASE("request: the client's User-Agent wins") {
        const Headers client{{"user-agent", "OpenAI/Python 1.0"}};
        const Headers out = upstream_request_headers(client, plain_service(), "rid");
        CHECK(names_of(out) == std::vector<std::string>{"user-agent", "X-Request-Id"});
        CHECK(*out.get("User-Agent") == "OpenAI/Python 1.0");
    }

    TEST_CASE("response headers that never reach the client") {
        for (const std::string_view name :
             {"Connection", "keep-alive", "Proxy-Connection", "TE", "Trailer", "Transfer-Encoding",
              "Upgrade", "Proxy-Authenticate", "Server", "x-powered-by", "CF-Ray",
              "cf-cache-status", "Set-Cookie", "SET-COOKIE"}) {
            CAPTURE(name);
            CHECK(is_dropped_response_header(name));
        }
        for (const std::string_view name :
             {"Content-Type", "Content-Encoding", "Content-Length", "x-request-id",
              "openai-organization", "openai-processing-ms", "anthropic-ratelimit-requests-limit",
              "retry-after", "x-ratelimit-remaining-tokens", "cf-other", "Cache-Control"}) {
            CAPTURE(name);
            CHECK_FALSE(is_dropped_response_header(name));
        }
    }

    TEST_CASE("hop-by-hop list") {
        for (const std::string_view name :
             {"Connection", "Keep-Alive", "Proxy-Connection", "Proxy-Authorization",
              "Proxy-Authenticate", "te", "Trailer", "transfer-encoding", "UPGRADE"}) {
            CAPTURE(name);
            CHECK(is_hop_by_hop(name));
        }
        for (const std::string_view name :
             {"Host", "Content-Length", "Trailers", "Connections", ""}) {
            CAPTURE(name);
            CHECK_FALSE(is_hop_by_hop(name));
        }
    }

    TEST_CASE("names of the same length as a dropped one are kept (matching is by length first)") {
        const Headers client{{"Hast", "1"},           {"Cookiz", "1"},         {"Forwardex", "1"},
                             {"X-Real-IQ", "1"},      {"Content-Lengtx", "1"}, {"True-Client-IQ", "1"},
                             {"TX", "1"},             {"Trailex", "1"},        {"Upgradx", "1"},
                             {"Connectioz", "1"},     {"Keep-Alivx", "1"},     {"Proxy-Connectioz", "1"},
                             {"Transfer-Encodinx", "1"}, {"Proxy-Authenticatx", "1"},
                             {"Proxy-Authorizatioz", "1"}};
        const Headers out = upstream_request_headers(client, plain_service(), "rid");
        for (const HeaderField field : client) {
            CAPTURE(field.name);
            CHECK(out.contains(field.name));
        }
        for (const std::string_view name : {"Servex", "CF-Rax", "Set-Cookix", "X-Powered-Bx", "cf-cache-statux"}) {
            CAPTURE(name);
            CHECK_FALSE(is_dropped_response_header(name));
        }
    }
}
