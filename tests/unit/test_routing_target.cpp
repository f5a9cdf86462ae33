#include <doctest/doctest.h>

#include <random>
#include <string>
#include <string_view>

#include "routing/target.hpp"
#include "util/strings.hpp"

using llmgw::routing::parse_target;
using llmgw::routing::TargetKind;

TEST_SUITE("routing.target") {
    TEST_CASE("routes other than the proxy") {
        struct Case {
            std::string_view target;
            TargetKind kind;
            std::string_view service;
        };
        const Case cases[] = {
            {"/", TargetKind::root, ""},
            {"/?x=1", TargetKind::root, ""},
            {"/health", TargetKind::health, ""},
            {"/gateway/health", TargetKind::health, ""},
            {"/health?probe=1", TargetKind::health, ""},
            {"/gateway", TargetKind::gateway_bare, ""},
            {"/gateway/", TargetKind::gateway_bare, ""},
            {"/gateway?x", TargetKind::gateway_bare, ""},
            {"/gateway/openai", TargetKind::gateway_bare, "openai"},
            {"/gateway/openai?x=1", TargetKind::gateway_bare, "openai"},
            {"/gatewayfoo", TargetKind::unknown, ""},
            {"/gatewayfoo/openai/v1", TargetKind::unknown, ""},
            {"/healthz", TargetKind::unknown, ""},
            {"/v1/chat/completions", TargetKind::unknown, ""},
            {"/favicon.ico", TargetKind::unknown, ""},
        };
        for (const Case& c : cases) {
            CAPTURE(c.target);
            const auto parsed = parse_target(c.target);
            REQUIRE(parsed.has_value());
            CHECK(parsed->kind == c.kind);
            CHECK(parsed->service == c.service);
        }
    }

    TEST_CASE("proxy targets keep the rest and the query byte for byte") {
        struct Case {
            std::string_view target;
            std::string_view service;
            std::string_view upstream_path;
            bool has_query;
            std::string_view query;
        };
        const Case cases[] = {
            {"/gateway/openai/v1/chat/completions", "openai", "/v1/chat/completions", false, ""},
            {"/gateway/openai/", "openai", "/", false, ""},
            {"/gateway/openai/v1/models/", "openai", "/v1/models/", false, ""},
            {"/gateway/openai/v1/x?", "openai", "/v1/x", true, ""},
            {"/gateway/openai/v1/x?a=%20b&c=d%2Fe&&x", "openai", "/v1/x", true,
             "a=%20b&c=d%2Fe&&x"},
            {"/gateway/openai/v1/x?a=b?c=/../d", "openai", "/v1/x", true, "a=b?c=/../d"},
            {"/gateway/openai/v1/x?bad=%zz", "openai", "/v1/x", true, "bad=%zz"},
            {"/gateway/claude/v1/messages", "claude", "/v1/messages", false, ""},
            {"/gateway/My_Svc-2.x/a", "My_Svc-2.x", "/a", false, ""},
            {"/gateway/gemini/v1beta/models/gemini-pro:streamGenerateContent?alt=sse", "gemini",
             "/v1beta/models/gemini-pro:streamGenerateContent", true, "alt=sse"},
            {"/gateway/openai/v1/a%20b/%41", "openai", "/v1/a%20b/%41", false, ""},
            {"/gateway/openai/v1/...", "openai", "/v1/...", false, ""},
            {"/gateway/openai/v1/.well-known", "openai", "/v1/.well-known", false, ""},
            {"/gateway/openai/v1/models/claude@2024", "openai", "/v1/models/claude@2024", false,
             ""},
            {"/gateway/health/x", "health", "/x", false, ""},
            // The absolute form (RFC 9112 §3.2.2): the path is routed, the authority is not.
            // Before: 400 "request target must be a path starting with '/'".
            {"http://127.0.0.1:8787/gateway/openai/v1/models?x=1", "openai", "/v1/models", true,
             "x=1"},
            {"HTTPS://evil.example/gateway/claude/v1/messages", "claude", "/v1/messages", false,
             ""},
        };
        for (const Case& c : cases) {
            CAPTURE(c.target);
            const auto parsed = parse_target(c.target);
            REQUIRE(parsed.has_value());
            CHECK(parsed->kind == TargetKind::proxy);
            CHECK(parsed->service == c.service);
            CHECK(parsed->upstream_path == c.upstream_path);
            CHECK(parsed->has_query == c.has_query);
            CHECK(parsed->query == c.query);
        }
    }

    TEST_CASE("an absolute-form target without a path is the root") {
        const auto parsed = parse_target("http://127.0.0.1:8787");
        REQUIRE(parsed.has_value());
        CHECK(parsed->kind == TargetKind::root);
        CHECK(parse_target("http://h/health")->kind == TargetKind::health);
    }

    TEST_CASE("rejected targets name the reason") {
        struct Case {
            std::string_view target;
            std::string_view reason;
        };
        using namespace std::string_view_literals;
        const Case cases[] = {
            {"", "request target must be a path starting with '/'"},
            {"http://", "request target has a scheme but no host"},
            {"https:///gateway/openai/v1", "request target has a scheme but no host"},
            {"http://h?x=1", "request target has a query but no path"},
            {"http://h/gateway/openai/../x", "path contains a '..' segment"},
            {"ftp://h/gateway/openai/v1", "request target must be a path starting with '/'"},
            {"*", "request target must be a path starting with '/'"},
            {"gateway/openai/v1", "request target must be a path starting with '/'"},
            {"/gateway/openai/v1/../admin", "path contains a '..' segment"},
            {"/gateway/openai/..", "path contains a '..' segment"},
            {"/gateway/openai/../", "path contains a '..' segment"},
            {"/gateway/openai/%2e%2e/x", "path contains a '..' segment"},
            {"/gateway/openai/%2E%2E/x", "path contains a '..' segment"},
            {"/gateway/openai/.%2E/x", "path contains a '..' segment"},
            {"/gateway/openai/%2e./x", "path contains a '..' segment"},
            {"/gateway/openai/./x", "path contains a '.' segment"},
            {"/gateway/openai/v1/%2e", "path contains a '.' segment"},
            {"/gateway/../x", "path contains a '..' segment"},
            {"/gateway/%2e%2e/x", "path contains a '..' segment"},
            {"/gateway/./x", "path contains a '.' segment"},
            {"/gateway/..", "path contains a '..' segment"},
            {"/gateway/openai//v1", "path contains an empty segment ('//')"},
            {"/gateway/openai/v1//chat", "path contains an empty segment ('//')"},
            {"/gateway/openai/v1/chat//", "path contains an empty segment ('//')"},
            {"/gateway//x", "path contains an empty segment ('//')"},
            {"/gateway//", "path contains an empty segment ('//')"},
            {"/gateway/openai/v1\\..\\x", "path contains a backslash"},
            {"/gateway/openai\\x/v1", "path contains a backslash"},
            {"/gateway/openai/v1%5c..", "path contains an encoded backslash"},
            {"/gateway/openai/v1%5C..", "path contains an encoded backslash"},
            {"/gateway/openai/v1%2f..%2fx", "path contains an encoded slash"},
            {"/gateway/openai/v1%2F..", "path contains an encoded slash"},
            {"/gateway/user@evil.example/v1", "service name contains '@'"},
            {"/gateway/openai/@evil.example/v1", "path contains '@' in its first segment"},
            {"/gateway/openai/x%40evil.example/v1", "path contains '@' in its first segment"},
            {"/gateway/openai/v1\x0a", "request target contains a control character"},
            {"/gateway/openai/v1\r\nHost: x", "request target contains a control character"},
            {"/gateway/openai/v1\x7f", "request target contains a control character"},
            {"/gateway/openai/v1?a=\x01", "request target contains a control character"},
            {"/gateway/openai/v1?a=b c", "request target contains a space"},
            {"/gateway/openai/v1 x", "request target contains a space"},
            {"/gateway/openai/v1\0x"sv, "request target contains a control character"},
            {"/gateway/openai/v1%0a", "path contains an encoded control character"},
            {"/gateway/openai/v1%0D%0AHost:x", "path contains an encoded control character"},
            {"/gateway/openai/v1%00", "path contains an encoded control character"},
            {"/gateway/openai/v1%1f", "path contains an encoded control character"},
            {"/gateway/openai/v1%7F", "path contains an encoded control character"},
            {"/gateway/openai/v1%zz", "path contains a malformed percent escape"},
            {"/gateway/openai/v1%2", "path contains a malformed percent escape"},
            {"/gateway/openai/v1%", "path contains a malformed percent escape"},
            {"/gateway/openai/v1%g0/x", "path contains a malformed percent escape"},
            {"/gateway/openai/v1#frag", "request target contains '#'"},
            {"/gateway/openai/v1?a=b#frag", "request target contains '#'"},
            {"/gateway/op%65nai/v1",
             "service name may contain only letters, digits, '.', '_' and '-'"},
            {"/gateway/open+ai/v1",
             "service name may contain only letters, digits, '.', '_' and '-'"},
            {"/gateway/open:ai/v1",
             "service name may contain only letters, digits, '.', '_' and '-'"},
            {"/gateway/op~enai", "service name may contain only letters, digits, '.', '_' and '-'"},
        };
        for (const Case& c : cases) {
            CAPTURE(c.target);
            const auto parsed = parse_target(c.target);
            REQUIRE_FALSE(parsed.has_value());
            CHECK(parsed.error().reason == c.reason);
        }
    }

    TEST_CASE("the quick path for plain targets decides as the full checks do") {
        // A target with none of '%', '\\', '@', '.' or "//" skips the segment checks; a query
        // holding "%.@//" forces them for the same path. Both must give the same answer.
        static constexpr std::string_view kPieces[] = {"/", "a", "v1", "openai", "_", "-", "~", "$",
                                                       "\xc3\xa9", "gateway", "/gateway/", "X"};
        std::mt19937 rng(11);
        std::uniform_int_distribution<std::size_t> piece(0, std::size(kPieces) - 1);
        std::uniform_int_distribution<int> length(1, 8);
        for (int i = 0; i < 20000; ++i) {
            std::string target = i % 2 == 0 ? "/gateway/" : "/";
            for (int n = length(rng); n > 0; --n) target += kPieces[piece(rng)];
            const auto quick = parse_target(target);
            const std::string forced = target + "?%.@//";  // the views point into it
            const auto full = parse_target(forced);
            CAPTURE(target);
            REQUIRE(quick.has_value() == full.has_value());
            if (!quick) {
                CHECK(quick.error().reason == full.error().reason);
                continue;
            }
            CHECK(quick->kind == full->kind);
            CHECK(quick->service == full->service);
            CHECK(quick->upstream_path == full->upstream_path);
        }
    }

    TEST_CASE("non-ASCII bytes in the path pass through") {
        const auto parsed = parse_target("/gateway/openai/v1/caf\xc3\xa9");
        REQUIRE(parsed.has_value());
        CHECK(parsed->upstream_path == "/v1/caf\xc3\xa9");
    }

    TEST_CASE("no accepted proxy target can climb out of the upstream path") {
        // Random targets over the bytes that matter; every accepted one, decoded, must have
        // only ordinary segments, so base_url + upstream_path stays under base_url.
        static constexpr std::string_view kPieces[] = {"/",         "/",
                                                       ".",         "..",
                                                       "%2e",       "%2E",
                                                       "%2f",       "%5c",
                                                       "%40",       "%0a",
                                                       "%",         "%z",
                                                       "\\",        "@",
                                                       "?",         "#",
                                                       "a",         "v1",
                                                       "openai",    "gateway",
                                                       "/gateway/", "/gateway/openai/",
                                                       " "};
        std::mt19937 rng(7);
        std::uniform_int_distribution<std::size_t> piece(0, std::size(kPieces) - 1);
        std::uniform_int_distribution<int> length(1, 12);
        int proxies = 0;
        for (int i = 0; i < 50000; ++i) {
            std::string target = i % 2 == 0 ? "/gateway/openai" : "";
            for (int n = length(rng); n > 0; --n) target += kPieces[piece(rng)];
            const auto parsed = parse_target(target);
            if (!parsed || parsed->kind != TargetKind::proxy) continue;
            ++proxies;
            CAPTURE(target);
            REQUIRE(parsed->upstream_path.starts_with('/'));
            const auto decoded = llmgw::str::percent_decode(parsed->upstream_path);
            REQUIRE(decoded.has_value());
            const auto segments = llmgw::str::split(std::string_view(*decoded).substr(1), '/');
            for (std::size_t k = 0; k < segments.size(); ++k) {
                CHECK(segments[k] != ".");
                CHECK(segments[k] != "..");
                CHECK((k + 1 == segments.size() || !segments[k].empty()));
                CHECK(segments[k].find('\\') == std::string_view::npos);
            }
            CHECK(segments.front().find('@') == std::string_view::npos);
            CHECK(parsed->service.find_first_not_of(
                      "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") ==
                  std::string_view::npos);
        }
        CHECK(proxies > 1000);
    }
}
