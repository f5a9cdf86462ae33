#include <doctest/doctest.h>

#include <string_view>

#include "routing/router.hpp"
#include "routing_fixtures.hpp"

using llmgw::routing::Lane;
using llmgw::routing::policy_for;
using llmgw::routing::RequestPolicy;

namespace {

const llmgw::config::Service& service_named(const llmgw::config::Config& config,
                                            std::string_view name) {
    const llmgw::config::Service* service = config.find(name);
    REQUIRE(service != nullptr);
    return *service;
}

}  // namespace

TEST_SUITE("routing.policy") {
    TEST_CASE("edge lane: headers timeout from the service or DEFAULT_TIMEOUT, no total cap") {
        auto config = llmgw::test::make_routing_config();
        config.gateway.default_timeout_ms = 20000;
        config.gateway.stream_idle_timeout_ms = 90000;

        const RequestPolicy openai =
            policy_for(config, service_named(config, "openai"), Lane::edge, "POST");
        CHECK(openai.headers_timeout_ms == 120000);
        CHECK(openai.total_timeout_ms == 0);
        CHECK(openai.idle_timeout_ms == 90000);
        CHECK(openai.max_response_bytes == 10485760);
        CHECK_FALSE(openai.fallback_eligible);

        const RequestPolicy groq =
            policy_for(config, service_named(config, "groq"), Lane::edge, "POST");
        CHECK(groq.headers_timeout_ms == 20000);
        CHECK(groq.total_timeout_ms == 0);
        CHECK(groq.max_response_bytes == 6291456);
    }

    TEST_CASE("background lane: BACKGROUND_TIMEOUT caps headers and the whole exchange") {
        auto config = llmgw::test::make_routing_config();
        config.gateway.background_timeout_ms = 240000;
        const RequestPolicy p =
            policy_for(config, service_named(config, "openai"), Lane::background, "POST");
        CHECK(p.headers_timeout_ms == 240000);
        CHECK(p.total_timeout_ms == 240000);
        CHECK(p.idle_timeout_ms == 120000);
        CHECK(p.fallback_eligible);
        CHECK(p.max_response_bytes == 10485760);
    }

    TEST_CASE("fallback needs the background lane, ENABLE_FALLBACK and the service flag") {
        auto config = llmgw::test::make_routing_config();
        CHECK(policy_for(config, service_named(config, "groq"), Lane::background, "POST")
                  .fallback_eligible);
        CHECK_FALSE(policy_for(config, service_named(config, "groq"), Lane::edge, "POST")
                        .fallback_eligible);
        // ollama has fallback = false in the fixture.
        CHECK_FALSE(policy_for(config, service_named(config, "ollama"), Lane::background, "POST")
                        .fallback_eligible);
        config.gateway.enable_fallback = false;
        CHECK_FALSE(policy_for(config, service_named(config, "groq"), Lane::background, "POST")
                        .fallback_eligible);
    }

    TEST_CASE("retries") {
        auto config = llmgw::test::make_routing_config();
        config.gateway.max_retry_after_ms = 7000;
        config.services.back().max_retries = 3;  // openai
        config.services.back().retry_methods = {"GET", "POST"};  // as the config stores them
        const auto& openai = service_named(config, "openai");

        SUBCASE("method in retry_methods") {
            for (const std::string_view method : {"POST", "GET"}) {
                CAPTURE(method);
                const RequestPolicy p = policy_for(config, openai, Lane::edge, method);
                CHECK(p.retry.enabled);
                CHECK(p.retry.max_retries == 3);
                CHECK(p.retry.max_retry_after_ms == 7000);
            }
        }
        SUBCASE("method not in retry_methods, case included (RFC 9110 §9.1)") {
            for (const std::string_view method : {"PUT", "post", "Get"}) {
                CAPTURE(method);
                const RequestPolicy p = policy_for(config, openai, Lane::edge, method);
                CHECK_FALSE(p.retry.enabled);
                CHECK(p.retry.max_retries == 0);
            }
        }
        SUBCASE("ENABLE_RETRY off") {
            config.gateway.enable_retry = false;
            const RequestPolicy p = policy_for(config, openai, Lane::background, "POST");
            CHECK_FALSE(p.retry.enabled);
            CHECK(p.retry.max_retries == 0);
        }
        SUBCASE("max_retries 0") {
            config.services.back().max_retries = 0;
            const RequestPolicy p = policy_for(config, openai, Lane::edge, "POST");
            CHECK_FALSE(p.retry.enabled);
            CHECK(p.retry.max_retries == 0);
        }
        SUBCASE("default retry methods") {
            const auto& groq = service_named(config, "groq");
            for (const std::string_view method : {"GET", "HEAD", "OPTIONS", "POST"}) {
                CAPTURE(method);
                CHECK(policy_for(config, groq, Lane::edge, method).retry.max_retries == 1);
            }
            CHECK_FALSE(policy_for(config, groq, Lane::edge, "DELETE").retry.enabled);
        }
    }

    TEST_CASE("max_response_bytes 0 on the service means no limit, not the gateway's") {
        auto config = llmgw::test::make_routing_config();
        config.services.back().max_response_bytes = 0;
        CHECK(policy_for(config, service_named(config, "openai"), Lane::edge, "POST")
                  .max_response_bytes == 0);
        config.gateway.max_response_size = 0;
        CHECK(policy_for(config, service_named(config, "groq"), Lane::edge, "POST")
                  .max_response_bytes == 0);
    }

    TEST_CASE("route() attaches the lane's policy") {
        const auto config = llmgw::test::make_routing_config();
        const llmgw::Headers headers;
        llmgw::routing::RequestFacts facts;
        facts.method = "POST";
        facts.target = "/gateway/openai/v1/embeddings";
        facts.headers = &headers;
        const auto d = llmgw::routing::route(config, facts);
        REQUIRE(d.has_value());
        CHECK(d->lane == Lane::background);
        CHECK(d->policy.total_timeout_ms == config.gateway.background_timeout_ms);
        CHECK(d->policy.fallback_eligible);
        CHECK(d->policy.retry.enabled);
    }
}
