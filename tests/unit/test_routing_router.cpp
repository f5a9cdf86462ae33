#include <doctest/doctest.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "routing/router.hpp"
#include "routing_fixtures.hpp"

using llmgw::Headers;
using llmgw::routing::Decision;
using llmgw::routing::Lane;
using llmgw::routing::RequestFacts;
using llmgw::routing::route;
using llmgw::routing::RouteErrorKind;
using llmgw::routing::Rule;

namespace {

struct Request {
    std::string_view method = "POST";
    std::string_view target{};
    Headers headers{};
    std::string body{};
    std::optional<std::uint64_t> content_length{};
};

auto route_request(const llmgw::config::Config& config, const Request& request) {
    RequestFacts facts;
    facts.method = request.method;
    facts.target = request.target;
    facts.headers = &request.headers;
    facts.body = request.body;
    facts.content_length = request.content_length;
    return route(config, facts);
}

// Decision::service points into the config, so it must outlive the decision.
const llmgw::config::Config& shared_config() {
    static const llmgw::config::Config config = llmgw::test::make_routing_config();
    return config;
}

Decision decide(const Request& request) {
    const llmgw::config::Config& config = shared_config();
    auto result = route_request(config, request);
    REQUIRE_MESSAGE(result.has_value(), (result ? "" : result.error().message));
    return *result;
}

const Headers kJson{{"Content-Type", "application/json"}};

}  // namespace

TEST_SUITE("routing.router") {
    TEST_CASE("method rule") {
        for (const std::string_view method : {"GET", "HEAD", "OPTIONS"}) {
            CAPTURE(method);
            const Decision d = decide({.method = method, .target = "/gateway/openai/v1/models"});
            CHECK(d.lane == Lane::edge);
            CHECK(d.rule == Rule::method);
            CHECK(d.reason == "Method suitable for edge");
            CHECK_FALSE(d.streaming);
        }
        // Methods are case-sensitive (RFC 9110 §9.1): "get" is some other method, not GET.
        for (const std::string_view method : {"POST", "PUT", "PATCH", "DELETE", "get", "Head"}) {
            CAPTURE(method);
            const Decision d = decide({.method = method, .target = "/gateway/openai/v1/models"});
            CHECK(d.rule == Rule::default_rule);
            CHECK(d.lane == Lane::edge);
            CHECK(d.reason == "Default to edge");
        }
    }

    TEST_CASE("stream signals") {
        struct Case {
            std::string_view name;
            Request request;
            bool streams;
            std::string_view reason;
        };
        const Case cases[] = {
            {"query stream=true",
             {.target = "/gateway/openai/v1/chat/completions?stream=true"},
             true,
             "Streaming request (query stream=true)"},
            {"query among others",
             {.target = "/gateway/openai/v1/x?a=1&stream=true&b=2"},
             true,
             "Streaming request (query stream=true)"},
            {"query stream=false", {.target = "/gateway/openai/v1/x?stream=false"}, false, ""},
            {"query streaming=true", {.target = "/gateway/openai/v1/x?streaming=true"}, false, ""},
            {"query xstream=true", {.target = "/gateway/openai/v1/x?xstream=true"}, false, ""},
            {"query stream=True", {.target = "/gateway/openai/v1/x?stream=True"}, false, ""},
            {"query stream=trueish", {.target = "/gateway/openai/v1/x?stream=trueish"}, false, ""},
            {"stream=true in the path", {.target = "/gateway/openai/v1/stream=true"}, false, ""},
            {"Accept",
             {.target = "/gateway/openai/v1/x", .headers = {{"Accept", "text/event-stream"}}},
             true,
             "Streaming request (Accept: text/event-stream)"},
            {"Accept mixed case in a list",
             {.target = "/gateway/openai/v1/x",
              .headers = {{"accept", "application/json, Text/Event-Stream;q=0.9"}}},
             true,
             "Streaming request (Accept: text/event-stream)"},
            {"second Accept field",
             {.target = "/gateway/openai/v1/x",
              .headers = {{"Accept", "application/json"}, {"Accept", "text/event-stream"}}},
             true,
             "Streaming request (Accept: text/event-stream)"},
            {"Accept json",
             {.target = "/gateway/openai/v1/x", .headers = {{"Accept", "application/json"}}},
             false,
             ""},
            {"Gemini",
             {.target = "/gateway/gemini/v1beta/models/gemini-pro:streamGenerateContent"},
             true,
             "Streaming request (Gemini :streamGenerateContent)"},
            {"Gemini with query",
             {.target = "/gateway/gemini/v1beta/models/gemini-pro:streamGenerateContent?alt=sse"},
             true,
             "Streaming request (Gemini :streamGenerateContent)"},
            {"Gemini generateContent",
             {.target = "/gateway/gemini/v1beta/models/m:generateContent"},
             false,
             ""},
            {"JSON body true",
             {.target = "/gateway/openai/v1/chat/completions",
              .headers = kJson,
              .body = R"({"model":"gpt-4o","stream": true})"},
             true,
             "Streaming request (JSON body \"stream\": true)"},
            {"JSON with charset",
             {.target = "/gateway/openai/v1/x",
              .headers = {{"content-type", "Application/JSON; charset=utf-8"}},
              .body = R"({"stream":true})"},
             true,
             "Streaming request (JSON body \"stream\": true)"},
            {"JSON string true",
             {.target = "/gateway/openai/v1/x", .headers = kJson, .body = R"({"stream":"true"})"},
             false,
             ""},
            {"JSON false",
             {.target = "/gateway/openai/v1/x", .headers = kJson, .body = R"({"stream":false})"},
             false,
             ""},
            {"JSON false with another member true",
             {.target = "/gateway/openai/v1/x", .headers = kJson,
              .body = R"({"logprobs":true,"stream":false})"},
             false,
             ""},
            {"JSON escaped key, true value",
             {.target = "/gateway/openai/v1/x", .headers = kJson,
              .body = R"({"\u0073tream":true})"},
             true,
             "Streaming request (JSON body \"stream\": true)"},
            {"JSON escaped key before a plain \"stream\" string",
             {.target = "/gateway/openai/v1/x", .headers = kJson,
              .body = R"({"str\u0065am":true,"note":"stream"})"},
             true,
             "Streaming request (JSON body \"stream\": true)"},
            {"JSON plain \"stream\" string before the key",
             {.target = "/gateway/openai/v1/x", .headers = kJson,
              .body = R"({"note":"stream","stream":true})"},
             true,
             "Streaming request (JSON body \"stream\": true)"},
            {"JSON key at the very start of an object, spaced true",
             {.target = "/gateway/openai/v1/x", .headers = kJson,
              .body = "{\"stream\"\t:\n true }"},
             true,
             "Streaming request (JSON body \"stream\": true)"},
            {"JSON true only before the plain key",
             {.target = "/gateway/openai/v1/x", .headers = kJson,
              .body = R"({"echo":true,"stream":false})"},
             false,
             ""},
            {"JSON stream true spelled in a string only",
             {.target = "/gateway/openai/v1/x", .headers = kJson,
              .body = R"({"stream":false,"note":"stream true"})"},
             false,
             ""},
            {"JSON nested",
             {.target = "/gateway/openai/v1/x",
              .headers = kJson,
              .body = R"({"options":{"stream":true}})"},
             false,
             ""},
            {"JSON invalid",
             {.target = "/gateway/openai/v1/x", .headers = kJson, .body = R"({"stream":true,})"},
             false,
             ""},
            {"not JSON content type",
             {.target = "/gateway/openai/v1/x",
              .headers = {{"Content-Type", "text/plain"}},
              .body = R"({"stream":true})"},
             false,
             ""},
            {"json-like content type",
             {.target = "/gateway/openai/v1/x",
              .headers = {{"Content-Type", "application/json-patch+json"}},
              .body = R"({"stream":true})"},
             false,
             ""},
            {"no content type",
             {.target = "/gateway/openai/v1/x", .body = R"({"stream":true})"},
             false,
             ""},
            {"body not complete yet",
             {.target = "/gateway/openai/v1/x",
              .headers = kJson,
              .body = R"({"stream":true)",
              .content_length = 40},
             false,
             ""},
        };
        for (const Case& c : cases) {
            CAPTURE(c.name);
            const Decision d = decide(c.request);
            CHECK(d.streaming == c.streams);
            if (c.streams) {
                CHECK(d.rule == Rule::stream);
                CHECK(d.lane == Lane::edge);
                CHECK(d.reason == c.reason);
            } else {
                CHECK(d.rule != Rule::stream);
            }
        }
    }

    TEST_CASE("the JSON body is read only up to the peek limit") {
        auto config = llmgw::test::make_routing_config();
        config.routing.stream_peek_bytes = 16;
        Request request{.target = "/gateway/openai/v1/x", .headers = kJson};
        request.body = R"({"stream":true})";  // 15 bytes
        CHECK(route_request(config, request)->rule == Rule::stream);
        request.body = R"({"stream": true})";  // 16 bytes
        CHECK(route_request(config, request)->rule == Rule::stream);
        request.body = R"({"stream":  true})";  // 17 bytes
        CHECK(route_request(config, request)->rule == Rule::default_rule);
        request.body = R"({"stream":true})";
        request.content_length = 17;  // declared larger than the limit
        CHECK(route_request(config, request)->rule == Rule::default_rule);
    }

    TEST_CASE("every long-running prefix and suffix") {
        const auto config = llmgw::test::make_routing_config();
        const std::string_view prefixes[] = {"/v1/audio/",     "/v1/images/",      "/v1/embeddings",
                                             "/v1/fine-tunes", "/v1/fine_tuning/", "/v1/files",
                                             "/v1/uploads",    "/v1/batches"};
        for (const std::string_view prefix : prefixes) {
            CAPTURE(prefix);
            const std::string target = "/gateway/openai" + std::string(prefix) +
                                       (prefix.ends_with('/') ? "transcriptions" : "");
            const Decision d = decide({.target = target});
            CHECK(d.lane == Lane::background);
            CHECK(d.rule == Rule::long_running);
            CHECK(d.reason == "Long-running API (" + std::string(prefix) + ")");
        }
        const std::string_view suffixes[] = {":embedContent", ":batchEmbedContents", ":predict"};
        for (const std::string_view suffix : suffixes) {
            CAPTURE(suffix);
            const std::string target =
                "/gateway/gemini/v1beta/models/text-embedding-004" + std::string(suffix) + "?key=k";
            const Decision d = decide({.target = target});
            CHECK(d.lane == Lane::background);
            CHECK(d.rule == Rule::long_running);
            CHECK(d.reason == "Long-running API (" + std::string(suffix) + ")");
        }
    }

    TEST_CASE("long-running matches the upstream path only") {
        struct Case {
            std::string_view target;
            Rule rule;
        };
        const Case cases[] = {
            // The original matched substrings of the whole path; these are not long-running.
            {"/gateway/openai/v2/embeddings", Rule::default_rule},
            {"/gateway/openai/x/v1/embeddings", Rule::default_rule},
            {"/gateway/openai/v1/audio", Rule::default_rule},
            {"/gateway/openai/v1/chat/completions?path=/v1/embeddings", Rule::default_rule},
            {"/gateway/gemini/v1beta/models/m:embedContent/x", Rule::default_rule},
            {"/gateway/gemini/v1beta/models/m:predictLongRunning", Rule::default_rule},
            {"/gateway/gemini/v1beta/models/m:embedContent", Rule::long_running},
            {"/gateway/groq/v1/audio/transcriptions", Rule::long_running},
            // Read as the upstream decodes it (before: default, edge with its 20 s deadline).
            {"/gateway/gemini/v1beta/models/m%3AembedContent", Rule::long_running},
            {"/gateway/gemini/v1beta/models/m%3aembedContent", Rule::long_running},
            {"/gateway/groq/v1/%61udio/transcriptions", Rule::long_running},
            {"/gateway/gemini/v1beta/models/m%3AstreamGenerateContent", Rule::stream},
        };
        for (const Case& c : cases) {
            CAPTURE(c.target);
            CHECK(decide({.target = c.target}).rule == c.rule);
        }
        // The URL keeps the bytes as sent.
        CHECK(decide({.target = "/gateway/gemini/v1beta/models/m%3AembedContent"}).upstream_url ==
              "https://generativelanguage.googleapis.com/v1beta/models/m%3AembedContent");
    }

    TEST_CASE("large body threshold at 1 MiB, by Content-Length and by body size") {
        constexpr std::uint64_t kMiB = 1u << 20;
        const Decision at_limit =
            decide({.target = "/gateway/openai/v1/chat/completions", .content_length = kMiB});
        CHECK(at_limit.lane == Lane::edge);
        CHECK(at_limit.rule == Rule::default_rule);

        const Decision over =
            decide({.target = "/gateway/openai/v1/chat/completions", .content_length = kMiB + 1});
        CHECK(over.lane == Lane::background);
        CHECK(over.rule == Rule::large);
        CHECK(over.reason == "Large request body: 1.00MB");

        const Decision by_body_at_limit =
            decide({.target = "/gateway/openai/v1/x", .body = std::string(kMiB, 'x')});
        CHECK(by_body_at_limit.rule == Rule::default_rule);

        const Decision by_body_over =
            decide({.target = "/gateway/openai/v1/x", .body = std::string(kMiB + 1, 'x')});
        CHECK(by_body_over.lane == Lane::background);
        CHECK(by_body_over.rule == Rule::large);

        const Decision one_and_a_half =
            decide({.target = "/gateway/openai/v1/x", .content_length = kMiB * 3 / 2});
        CHECK(one_and_a_half.reason == "Large request body: 1.50MB");
    }

    TEST_CASE("precedence: method, then stream, then long, then large") {
        const Decision get =
            decide({.method = "GET", .target = "/gateway/openai/v1/embeddings?stream=true"});
        CHECK(get.rule == Rule::method);
        CHECK(get.lane == Lane::edge);
        CHECK_FALSE(get.streaming);

        const Decision stream = decide({.target = "/gateway/openai/v1/embeddings",
                                        .headers = kJson,
                                        .body = R"({"stream":true})",
                                        .content_length = 5u << 20});
        CHECK(stream.rule == Rule::stream);
        CHECK(stream.lane == Lane::edge);

        const Decision long_running =
            decide({.target = "/gateway/openai/v1/files", .content_length = 5u << 20});
        CHECK(long_running.rule == Rule::long_running);
    }

    TEST_CASE("aliases and case-insensitive service names") {
        const Decision d = decide({.target = "/gateway/claude/v1/messages"});
        REQUIRE(d.service != nullptr);
        CHECK(d.service->name == "anthropic");
        CHECK(d.upstream_url == "https://api.anthropic.com/v1/messages");
        CHECK(decide({.target = "/gateway/OpenAI/v1/models"}).service->name == "openai");
    }

    TEST_CASE("upstream URL and path, byte for byte") {
        struct Case {
            std::string_view target;
            std::string_view url;
            std::string_view path;
        };
        const Case cases[] = {
            {"/gateway/openai/v1/chat/completions", "https://api.openai.com/v1/chat/completions",
             "/v1/chat/completions"},
            {"/gateway/openai/v1/x?a=%20b&c=d%2Fe&&x",
             "https://api.openai.com/v1/x?a=%20b&c=d%2Fe&&x", "/v1/x?a=%20b&c=d%2Fe&&x"},
            {"/gateway/openai/v1/x?", "https://api.openai.com/v1/x?", "/v1/x?"},
            {"/gateway/openai/v1/x?a=b?c", "https://api.openai.com/v1/x?a=b?c", "/v1/x?a=b?c"},
            {"/gateway/openai/", "https://api.openai.com/", "/"},
            {"/gateway/openai/v1/a%20b", "https://api.openai.com/v1/a%20b", "/v1/a%20b"},
            {"/gateway/groq/v1/chat/completions", "https://api.groq.com/openai/v1/chat/completions",
             "/v1/chat/completions"},
            {"/gateway/ollama/api/chat?x=%zz", "http://127.0.0.1:11434/api/chat?x=%zz",
             "/api/chat?x=%zz"},
        };
        for (const Case& c : cases) {
            CAPTURE(c.target);
            const Decision d = decide({.target = c.target});
            CHECK(d.upstream_url == c.url);
            CHECK(d.upstream_path() == c.path);
        }
    }

    TEST_CASE("errors") {
        const auto config = llmgw::test::make_routing_config();
        const std::string services = "Available services: " + config.service_names();

        auto unknown = route_request(config, {.target = "/gateway/foo/v1/x"});
        REQUIRE_FALSE(unknown.has_value());
        CHECK(unknown.error().kind == RouteErrorKind::not_found);
        CHECK(unknown.error().message == "Unknown service 'foo'. " + services);
        CHECK(unknown.error().message.find("openai") != std::string::npos);
        CHECK(unknown.error().message.find("anthropic") != std::string::npos);

        struct Case {
            std::string_view target;
            std::string_view message;
        };
        const Case cases[] = {
            {"/gateway/openai/v1/../x", "Invalid path: path contains a '..' segment"},
            {"/gateway/openai/%2e%2E/x", "Invalid path: path contains a '..' segment"},
            {"/gateway//x", "Invalid path: path contains an empty segment ('//')"},
            {"ftp://x/gateway/openai/v1",
             "Invalid path: request target must be a path starting with '/'"},
            {"http://x?stream=true", "Invalid path: request target has a query but no path"},
            {"/gatewayfoo/openai/v1", "Not a gateway path: use /gateway/{service}/{path}"},
            {"/health", "Not a gateway path: use /gateway/{service}/{path}"},
        };
        for (const Case& c : cases) {
            CAPTURE(c.target);
            auto result = route_request(config, {.target = c.target});
            REQUIRE_FALSE(result.has_value());
            CHECK(result.error().kind == RouteErrorKind::bad_request);
            CHECK(result.error().message == c.message);
        }

        auto bare = route_request(config, {.target = "/gateway/openai"});
        REQUIRE_FALSE(bare.has_value());
        CHECK(bare.error().kind == RouteErrorKind::bad_request);
        CHECK(bare.error().message.find("/gateway/{service}/{path}") != std::string::npos);
        CHECK(bare.error().message.ends_with(services));
    }

    TEST_CASE("missing headers pointer is no headers") {
        const auto config = llmgw::test::make_routing_config();
        RequestFacts facts;
        facts.method = "POST";
        facts.target = "/gateway/openai/v1/chat/completions";
        facts.body = R"({"stream":true})";
        const auto result = route(config, facts);
        REQUIRE(result.has_value());
        CHECK(result->rule == Rule::default_rule);
        CHECK(result->policy.headers_timeout_ms == 120000);
    }

    TEST_CASE("to_string") {
        using llmgw::routing::to_string;
        CHECK(to_string(Lane::edge) == "edge");
        CHECK(to_string(Lane::background) == "background");
        CHECK(to_string(Rule::method) == "method");
        CHECK(to_string(Rule::stream) == "stream");
        CHECK(to_string(Rule::long_running) == "long");
        CHECK(to_string(Rule::large) == "large");
        CHECK(to_string(Rule::default_rule) == "default");
    }
}
