// toml++ 3.3.0's Unicode predicates reached __builtin_unreachable on ordinary non-ASCII code
// points (src/config/tomlpp.hpp). These inputs got there; under UBSan (the build-asan unit run)
// each one failed before the fix.
#include <doctest/doctest.h>

#include <string>

#include "config/config.hpp"

using namespace llmgw::config;

namespace {

llmgw::Result<Config, ConfigError> load_builtin(const std::string& toml) {
    LoadOptions options;
    options.builtin_toml = toml;
    options.env = [](std::string_view) -> std::optional<std::string> { return std::nullopt; };
    options.read_file = [](const std::string&) -> std::optional<std::string> { return std::nullopt; };
    return load_config(options);
}

}  // namespace

TEST_SUITE("config.tomlpp") {
    TEST_CASE("a continuation line that starts with a non-ASCII letter") {
        // After a line-ending backslash toml++ skips whitespace, asking of "é" whether it is.
        const auto config = load_builtin(
            "[services.x]\nbase_url = \"http://a\"\n"
            "description = \"\"\"Caf\\\n\xc3\xa9 au lait, \\\n   \xd0\xb6\"\"\"\n");
        REQUIRE(config);
        const Service* service = config->find("x");
        REQUIRE(service != nullptr);
        CHECK(service->description == "Caf\xc3\xa9 au lait, \xd0\xb6");
    }

    TEST_CASE("a malformed value holding non-ASCII text is an error, not undefined behaviour") {
        // fuzz_config's finding: toml++ records the raw value, testing each character.
        const auto config = load_builtin(
            "[services.x]\nbase_url = \"http://a\"\n"
            "timeout_ms = 1979-888888888[\"ax_response_bytes88805-27T0\xce\x8dy\"]\n");
        REQUIRE_FALSE(config);
        CAPTURE(config.error().message);
        CHECK(config.error().message.find(":3:") != std::string::npos);
    }
}
