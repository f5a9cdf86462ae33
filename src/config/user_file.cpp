#include "config/user_file.hpp"

#include <filesystem>
#include <fstream>
#include <sstream>

namespace llmgw::config {
namespace {

std::optional<std::string> non_empty(const EnvLookup& env, std::string_view name) {
    auto value = env(name);
    if (!value || value->empty()) return std::nullopt;
    return value;
}

// Where the optional file would be; nullopt when neither XDG_CONFIG_HOME nor HOME is set.
std::optional<std::string> default_path(const EnvLookup& env) {
    if (auto xdg = non_empty(env, "XDG_CONFIG_HOME")) return *xdg + "/llmgw/config.toml";
    if (auto home = non_empty(env, "HOME")) return *home + "/.config/llmgw/config.toml";
    return std::nullopt;
}

}  // namespace

Result<std::optional<UserFile>, ConfigError> find_user_file(
    const std::optional<std::string>& config_flag, const EnvLookup& env, const FileReader& read) {
    std::optional<std::string> required = config_flag;
    std::string_view named_by;
    if (!required) {
        required = non_empty(env, "LLMGW_CONFIG");
        named_by = " (named by LLMGW_CONFIG)";
    }
    if (required) {
        auto text = read(*required);
        if (!text) {
            return unexpected(
                ConfigError{*required + ": cannot read file" + std::string(named_by)});
        }
        return std::optional<UserFile>(UserFile{*required, std::move(*text)});
    }
    const auto path = default_path(env);
    if (!path) return std::optional<UserFile>();
    auto text = read(*path);
    if (!text) return std::optional<UserFile>();
    return std::optional<UserFile>(UserFile{*path, std::move(*text)});
}

std::optional<std::string> read_real_file(const std::string& path) {
    std::error_code ec;
    if (!std::filesystem::is_regular_file(path, ec)) return std::nullopt;
    std::ifstream in(path, std::ios::binary);
    if (!in) return std::nullopt;
    std::ostringstream text;
    text << in.rdbuf();
    if (in.bad()) return std::nullopt;
    return text.str();
}

}  // namespace llmgw::config
