// PROXY_CONFIG: the original's JSON overrides, merged over the TOML sources.
#include <doctest/doctest.h>

#include "test_config_fakes.hpp"

using namespace llmgw;
using llmgw::test::FakeSystem;

namespace {

config::Config load_proxy(FakeSystem& sys, const std::string& json) {
    sys.env["PROXY_CONFIG"] = json;
    auto result = sys.load();
    REQUIRE_MESSAGE(result.has_value(), (result ? "" : result.error().message));
    return *result;
}

std::string proxy_error(const std::string& json) {
    FakeSystem sys;
    sys.env["PROXY_CONFIG"] = json;
    return sys.error();
}

}  // namespace

TEST_CASE("config: PROXY_CONFIG changes only the given fields of a known service") {
    FakeSystem sys;
    const config::Config cfg =
        load_proxy(sys, R"({"openai":{"timeout":60000,"defaultHeaders":{"X-A":"1"}}})");
    const config::Service& s = *cfg.find("openai");
    CHECK(s.timeout_ms == 60000);
    CHECK(s.headers.get("x-a") == "1");
    CHECK(s.max_response_bytes == 10485760u);
    const config::Config without =
        load_proxy(sys, R"({"anthropic":{"defaultHeaders":{"anthropic-version":""}}})");
    CHECK_FALSE(without.find("anthropic")->headers.contains("anthropic-version"));
    CHECK(s.base_url.text == "https://api.openai.com");
    CHECK(s.origin == "built-in + PROXY_CONFIG");
}

TEST_CASE("config: PROXY_CONFIG adds a service with every field") {
    FakeSystem sys;
    const config::Config cfg = load_proxy(sys, R"({"custom":{
        "host":"llm.example.com","basePath":"v1","timeout":1000,"maxRetries":3,
        "maxResponseSize":0,"retryableMethods":["get","put"],"defaultHeaders":{"x-org":"o"},
        "supportsStreaming":false,"allowFallback":false}})");
    const config::Service& s = *cfg.find("custom");
    CHECK(s.origin == "PROXY_CONFIG");
    CHECK(s.base_url.text == "https://llm.example.com/v1");
    CHECK(s.timeout_ms == 1000);
    CHECK(s.max_retries == 3);
    CHECK(s.max_response_bytes == 0u);
    CHECK(s.retry_methods == std::vector<std::string>{"GET", "PUT"});
    CHECK(s.headers.get("X-Org") == "o");
    CHECK_FALSE(s.streaming);
    CHECK_FALSE(s.fallback);
}

TEST_CASE("config: PROXY_CONFIG host and basePath") {
    FakeSystem sys;
    CHECK(load_proxy(sys, R"({"groq":{"host":"proxy.local"}})").find("groq")->base_url.text ==
          "https://proxy.local/openai");
    CHECK(load_proxy(sys, R"({"groq":{"basePath":"/v2/"}})").find("groq")->base_url.text ==
          "https://api.groq.com/v2");
    CHECK(load_proxy(sys, R"({"groq":{"host":"http://127.0.0.1:9000"}})")
              .find("groq")
              ->base_url.text == "http://127.0.0.1:9000/openai");
    CHECK(load_proxy(sys, R"({"groq":{"host":"http://h/a","basePath":"b"}})")
              .find("groq")
              ->base_url.text == "http://h/a/b");
    CHECK(load_proxy(sys, R"({"groq":{"basePath":""}})").find("groq")->base_url.text ==
          "https://api.groq.com");
    CHECK(load_proxy(sys, R"({"Groq":{"timeout":5}})").find("groq")->timeout_ms == 5);
}

TEST_CASE("config: PROXY_CONFIG merges over the user TOML") {
    FakeSystem sys;
    sys.files["/u.toml"] = "[services.openai]\ntimeout_ms = 1\nmax_retries = 4\n";
    sys.env["PROXY_CONFIG"] = R"({"openai":{"timeout":2}})";
    auto cfg = sys.load({}, "/u.toml");
    REQUIRE(cfg);
    const config::Service& s = *cfg->find("openai");
    CHECK(s.timeout_ms == 2);
    CHECK(s.max_retries == 4);
    CHECK(s.origin == "built-in + /u.toml + PROXY_CONFIG");
}

TEST_CASE("config: PROXY_CONFIG errors name the service and the field") {
    CHECK(proxy_error("{\"a\":") ==
          "PROXY_CONFIG: invalid JSON: parse error at line 1, column 6: "
          "syntax error while parsing value - unexpected end of input; "
          "expected '[', '{', or a literal");
    CHECK(proxy_error("[1]") == "PROXY_CONFIG: must be a JSON object of services");
    CHECK(proxy_error(R"({"openai":5})") ==
          "PROXY_CONFIG: service 'openai': must be a JSON object of fields");
    CHECK(proxy_error(R"({"custom":{"host":"x.com","timeout":"30s"}})") ==
          "PROXY_CONFIG: service 'custom': field 'timeout' must be a positive integer");
    CHECK(proxy_error(R"({"openai":{"timeout":0}})") ==
          "PROXY_CONFIG: service 'openai': field 'timeout' must be a positive integer");
    CHECK(proxy_error(R"({"openai":{"timeout":1.5}})") ==
          "PROXY_CONFIG: service 'openai': field 'timeout' must be a positive integer");
    CHECK(proxy_error(R"({"openai":{"maxRetries":-1}})") ==
          "PROXY_CONFIG: service 'openai': field 'maxRetries' must be a non-negative integer");
    // Before: "must be a positive integer" / "a non-negative integer" for numbers over 63 bits.
    CHECK(proxy_error(R"({"openai":{"timeout":18446744073709551615}})") ==
          "PROXY_CONFIG: service 'openai': field 'timeout' must be at most 86400000");
    CHECK(proxy_error(R"({"openai":{"maxResponseSize":18446744073709551615}})") ==
          "PROXY_CONFIG: service 'openai': field 'maxResponseSize' must be at most "
          "9223372036854775807 (0: no limit)");
    // Past 64 bits, which nlohmann reads as a double (a review of the change above).
    CHECK(proxy_error(R"({"openai":{"maxResponseSize":18446744073709551616}})") ==
          "PROXY_CONFIG: service 'openai': field 'maxResponseSize' must be at most "
          "9223372036854775807 (0: no limit)");
    CHECK(proxy_error(R"({"openai":{"maxRetries":99999999999999999999}})") ==
          "PROXY_CONFIG: service 'openai': field 'maxRetries' must be at most 100");
    CHECK(proxy_error(R"({"openai":{"maxRetries":-99999999999999999999}})") ==
          "PROXY_CONFIG: service 'openai': field 'maxRetries' must be a non-negative integer");
    CHECK(proxy_error(R"({"openai":{"maxResponseSize":"big"}})") ==
          "PROXY_CONFIG: service 'openai': field 'maxResponseSize' must be a non-negative integer");
    // Before: the last of each kept, or both names applied in byte order (a review).
    CHECK(proxy_error(R"({"openai":{"timeout":5},"openai":{"maxRetries":3}})") ==
          "PROXY_CONFIG: 'openai' is given twice in one object (service names ignore case)");
    CHECK(proxy_error(R"({"openai":{"timeout":5,"timeout":7}})") ==
          "PROXY_CONFIG: 'timeout' is given twice in one object");
    CHECK(proxy_error(R"([{"a":1,"A":2}])") == "PROXY_CONFIG: must be a JSON object of services");
    CHECK(proxy_error(R"({"openai":{"timeout":5},"OpenAI":{"timeout":7}})") ==
          "PROXY_CONFIG: 'OpenAI' is given twice in one object (service names ignore case)");
    CHECK(proxy_error(R"({"a":{"host":"x.com","defaultHeaders":{"t":"1"}},"b":{"host":"y.com",)"
                      R"("defaultHeaders":{"t":"1"}},"openai":{"timeout":{"timeout":1}}})") ==
          "PROXY_CONFIG: service 'openai': field 'timeout' must be a positive integer");
    CHECK(proxy_error(R"({"openai":{"defaultHeaders":{"x-a":"1","X-A":"2"}}})") ==
          "PROXY_CONFIG: service 'openai': field 'defaultHeaders' names the header 'X-A' twice, "
          "as 'x-a' too (header names ignore case)");
    CHECK(proxy_error(R"({"openai":{"supportsStreaming":"yes"}})") ==
          "PROXY_CONFIG: service 'openai': field 'supportsStreaming' must be true or false");
    CHECK(proxy_error(R"({"openai":{"retryableMethods":"GET"}})") ==
          "PROXY_CONFIG: service 'openai': field 'retryableMethods' must be an array of method "
          "names");
    CHECK(proxy_error(R"({"openai":{"retryableMethods":["G T"]}})") ==
          "PROXY_CONFIG: service 'openai': field 'retryableMethods' has a bad value 'G T': not an "
          "HTTP method name");
    CHECK(proxy_error(R"({"openai":{"defaultHeaders":{"a":1}}})") ==
          "PROXY_CONFIG: service 'openai': field 'defaultHeaders' must be an object of header "
          "names to strings");
    CHECK(proxy_error(R"({"openai":{"defaultHeaders":{"Content-Length":"3"}}})") ==
          "PROXY_CONFIG: service 'openai': field 'defaultHeaders' has a bad header name "
          "'Content-Length': llmgw writes it for each request (it frames the message or the "
          "connection)");
    CHECK(proxy_error(R"({"openai":{"defaultHeaders":{"x":"a\u0007"}}})") ==
          "PROXY_CONFIG: service 'openai': field 'defaultHeaders' has a bad value for 'x': a "
          "header value cannot contain a control character (CR, LF, NUL, …)");
    // The lexer's "last read" token is not repeated: it may be a key (a CR from a key file).
    const std::string lexer = proxy_error(
        "{\"openai\":{\"defaultHeaders\":{\"Authorization\":"
        "\"Bearer sk-proj-abc\r\"}}}");
    CHECK(lexer.find("PROXY_CONFIG: invalid JSON: ") == 0);
    CHECK(lexer.find("sk-proj") == std::string::npos);
    CHECK(proxy_error(R"({"openai":{"host":"u:sk-live@api.x.com:99999"}})").find("sk-live") ==
          std::string::npos);
    CHECK(proxy_error(R"({"openai":{"host":"ftp://x"}})") ==
          "PROXY_CONFIG: service 'openai': field 'host' has a bad value 'ftp://x': scheme must be "
          "http or https");
    CHECK(proxy_error(R"({"openai":{"basePath":"/a?b"}})") ==
          "PROXY_CONFIG: service 'openai': field 'basePath' has a bad value '/a?b': a query or "
          "fragment is not allowed");
    CHECK(proxy_error(R"({"openai":{"hots":"x"}})") ==
          "PROXY_CONFIG: service 'openai': unknown field 'hots'");
    CHECK(proxy_error(R"({"custom":{"timeout":5}})") ==
          "PROXY_CONFIG: service 'custom': field 'host' is required for a new service");
    CHECK(proxy_error(R"({"My Svc":{"host":"x"}})") ==
          "PROXY_CONFIG: service 'My Svc': not a service name (use lower-case letters, digits, '-' "
          "and '_')");
}
