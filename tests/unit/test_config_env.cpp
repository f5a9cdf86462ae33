// Environment variables and the precedence flag > environment > user TOML > built-in.
#include <doctest/doctest.h>

#include "test_config_fakes.hpp"

using namespace llmgw;
using llmgw::test::FakeSystem;

TEST_CASE("config: environment variables of the original") {
    FakeSystem sys;
    sys.env = {{"ALLOWED_ORIGIN", "https://a.com,https://b.com"},
               {"DEFAULT_TIMEOUT", "30000"},
               {"BACKGROUND_TIMEOUT", " 300000 "},
               {"MAX_RESPONSE_SIZE", "0"},
               {"ENABLE_RETRY", "off"},
               {"ENABLE_FALLBACK", "No"},
               {"LOG_LEVEL", "WARN"}};
    auto cfg = sys.load();
    REQUIRE(cfg);
    CHECK(cfg->gateway.allowed_origin == "https://a.com, https://b.com");
    CHECK(cfg->gateway.default_timeout_ms == 30000);
    CHECK(cfg->gateway.background_timeout_ms == 300000);
    CHECK(cfg->gateway.max_response_size == 0u);
    CHECK_FALSE(cfg->gateway.enable_retry);
    CHECK_FALSE(cfg->gateway.enable_fallback);
    CHECK(cfg->gateway.log_level == "warn");
}

TEST_CASE("config: booleans accept true/false/1/0/yes/no/on/off") {
    FakeSystem sys;
    for (const char* yes : {"true", "1", "yes", "on", "TRUE", "On"}) {
        sys.env["ENABLE_RETRY"] = yes;
        CHECK(sys.load()->gateway.enable_retry);
    }
    for (const char* no : {"false", "0", "no", "off", "False"}) {
        sys.env["ENABLE_RETRY"] = no;
        CHECK_FALSE(sys.load()->gateway.enable_retry);
    }
}

TEST_CASE("config: an empty variable counts as unset") {
    FakeSystem sys;
    sys.env = {{"DEFAULT_TIMEOUT", ""}, {"ENABLE_RETRY", " "}, {"PROXY_CONFIG", ""}};
    auto cfg = sys.load();
    REQUIRE(cfg);
    CHECK(cfg->gateway.default_timeout_ms == 20000);
    CHECK(cfg->gateway.enable_retry);
}

TEST_CASE("config: bad environment values name the variable and the value") {
    FakeSystem sys;
    const auto error_for = [&](const char* name, const char* value) {
        sys.env = {{name, value}};
        return sys.error();
    };
    CHECK(error_for("DEFAULT_TIMEOUT", "abc") ==
          "DEFAULT_TIMEOUT='abc': not a whole number of milliseconds");
    CHECK(error_for("DEFAULT_TIMEOUT", "-5") ==
          "DEFAULT_TIMEOUT='-5': not a whole number of milliseconds");
    CHECK(error_for("DEFAULT_TIMEOUT", "1.5") ==
          "DEFAULT_TIMEOUT='1.5': not a whole number of milliseconds");
    CHECK(error_for("DEFAULT_TIMEOUT", "0") ==
          "DEFAULT_TIMEOUT='0': must be at least 1 millisecond");
    CHECK(error_for("BACKGROUND_TIMEOUT", "300001") ==
          "BACKGROUND_TIMEOUT='300001': must be at most 300000 milliseconds");
    // A number, only too large (before: "not a whole number").
    CHECK(error_for("BACKGROUND_TIMEOUT", "99999999999999999999") ==
          "BACKGROUND_TIMEOUT='99999999999999999999': must be at most 300000 milliseconds");
    CHECK(error_for("MAX_RESPONSE_SIZE", "99999999999999999999") ==
          "MAX_RESPONSE_SIZE='99999999999999999999': more than 9223372036854775807 bytes");
    CHECK(error_for("MAX_RESPONSE_SIZE", "6MB") ==
          "MAX_RESPONSE_SIZE='6MB': not a whole number of bytes");
    // As max_response_size in a file (before: up to 2^64 - 1 here only).
    CHECK(error_for("MAX_RESPONSE_SIZE", "9223372036854775808") ==
          "MAX_RESPONSE_SIZE='9223372036854775808': more than 9223372036854775807 bytes");
    CHECK(error_for("ENABLE_RETRY", "maybe") ==
          "ENABLE_RETRY='maybe': not a boolean (use true/false, 1/0, yes/no or on/off)");
    CHECK(error_for("ENABLE_FALLBACK", "2") ==
          "ENABLE_FALLBACK='2': not a boolean (use true/false, 1/0, yes/no or on/off)");
    CHECK(error_for("LOG_LEVEL", "verbose") ==
          "LOG_LEVEL='verbose': not a log level (use debug, info, warn or error)");
}

TEST_CASE("config: precedence flag > environment > user TOML > built-in") {
    FakeSystem sys;
    sys.builtin +=
        "[gateway]\nlog_level = \"error\"\ndefault_timeout_ms = 1\nport = 1\nallowed_origin = "
        "\"http://b\"\n";
    sys.files["/u.toml"] =
        "[gateway]\nlog_level = \"warn\"\ndefault_timeout_ms = 2\nport = 2\nallowed_origin = "
        "\"http://u\"\n"
        "background_timeout_ms = 2\n";

    SUBCASE("built-in alone") {
        auto cfg = sys.load();
        REQUIRE(cfg);
        CHECK(cfg->gateway.log_level == "error");
        CHECK(cfg->gateway.default_timeout_ms == 1);
    }
    SUBCASE("user TOML over built-in") {
        auto cfg = sys.load({}, "/u.toml");
        REQUIRE(cfg);
        CHECK(cfg->gateway.log_level == "warn");
        CHECK(cfg->gateway.default_timeout_ms == 2);
        CHECK(cfg->gateway.port == 2);
        CHECK(cfg->gateway.allowed_origin == "http://u");
        CHECK(cfg->gateway.background_timeout_ms == 2);
    }
    SUBCASE("environment over user TOML") {
        sys.env = {
            {"LOG_LEVEL", "debug"}, {"DEFAULT_TIMEOUT", "3"}, {"ALLOWED_ORIGIN", "http://e"}};
        auto cfg = sys.load({}, "/u.toml");
        REQUIRE(cfg);
        CHECK(cfg->gateway.log_level == "debug");
        CHECK(cfg->gateway.default_timeout_ms == 3);
        CHECK(cfg->gateway.allowed_origin == "http://e");
        CHECK(cfg->gateway.port == 2);
        CHECK(cfg->gateway.background_timeout_ms == 2);
    }
    SUBCASE("flags over everything") {
        sys.env = {{"LOG_LEVEL", "debug"}};
        config::FlagOverrides flags;
        flags.log_level = "Info";
        flags.port = 4;
        flags.host = "::1";
        flags.log_format = "JSON";
        flags.threads = 3;
        flags.drain_timeout_ms = 0;
        auto cfg = sys.load(flags, "/u.toml");
        REQUIRE(cfg);
        CHECK(cfg->gateway.log_level == "info");
        CHECK(cfg->gateway.port == 4);
        CHECK(cfg->gateway.host == "::1");
        CHECK(cfg->gateway.log_format == "json");
        CHECK(cfg->gateway.threads == 3);
        CHECK(cfg->gateway.drain_timeout_ms == 0);
        CHECK(cfg->gateway.default_timeout_ms == 2);
    }
}

TEST_CASE("config: bad flag values name the flag") {
    FakeSystem sys;
    config::FlagOverrides flags;
    flags.log_level = "loud";
    CHECK(sys.load(flags).error().message ==
          "--log-level 'loud': not a log level (use debug, info, warn or error)");
    flags = {};
    flags.log_format = "xml";
    CHECK(sys.load(flags).error().message ==
          "--log-format 'xml': not a log format (use text or json)");
    flags = {};
    flags.threads = -1;
    CHECK(sys.load(flags).error().message == "--threads '-1': must be between 0 and 256");
    // The file takes the same range as the flag (before: 0 to 1024 against 1 to 256).
    CHECK(sys.error_with_file("[gateway]\nthreads = 257\n") ==
          "/u.toml:2:11: 'threads' in [gateway] must be between 0 and 256");
    flags = {};
    flags.host = "";
    CHECK(sys.load(flags).error().message == "--host '': not a host name or address");
}

TEST_CASE("config: process_env reads the real environment") {
    const config::EnvLookup env = config::process_env();
    CHECK(env("PATH").has_value());
    CHECK_FALSE(env("LLMGW_SURELY_NOT_SET_1234").has_value());
}
