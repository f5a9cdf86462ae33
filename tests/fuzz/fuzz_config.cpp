// config::load_config with the input as the user's TOML file (--config fuzz.toml), over the
// embedded built-in table. Errors are expected; crashes, leaks and empty messages are not.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "config/config.hpp"
#include "fuzz_check.hpp"

using namespace llmgw::config;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string text(reinterpret_cast<const char*>(data), size);
    LoadOptions options;
    options.config_flag = "fuzz.toml";
    options.env = [](std::string_view) -> std::optional<std::string> { return std::nullopt; };
    options.read_file = [&text](const std::string& path) -> std::optional<std::string> {
        if (path == "fuzz.toml") return text;
        return std::nullopt;
    };
    const auto config = load_config(options);
    if (!config) {
        FUZZ_CHECK(!config.error().message.empty());
        return 0;
    }
    for (const Service& service : config->services) {
        FUZZ_CHECK(config->find(service.name) != nullptr);
    }
    return 0;
}
