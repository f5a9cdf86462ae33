// config::load_config with the input as the PROXY_CONFIG environment value (JSON service
// overrides), over the embedded built-in table and no user file.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "config/config.hpp"
#include "fuzz_check.hpp"

using namespace llmgw::config;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string json(reinterpret_cast<const char*>(data), size);
    LoadOptions options;
    options.env = [&json](std::string_view name) -> std::optional<std::string> {
        if (name == "PROXY_CONFIG") return json;
        return std::nullopt;
    };
    options.read_file = [](const std::string&) -> std::optional<std::string> {
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
