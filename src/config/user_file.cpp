#include "config/user_file.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace llmgw::config {
namespace {

// A configuration file is a few KiB; one past this is not one.
constexpr std::size_t kMaxFileBytes = 16 * 1024 * 1024;

std::optional<std::string> non_empty(const EnvLookup& env, std::string_view name) {
    auto value = env(name);
    if (!value || value->empty()) return std::nullopt;
    return value;
}

// Where the optional file would be; nullopt when neither XDG_CONFIG_HOME nor HOME is set. A
// relative XDG_CONFIG_HOME is ignored, as the XDG Base Directory Specification asks (it would
// name another file in each working directory).
std::optional<std::string> default_path(const EnvLookup& env) {
    if (auto xdg = non_empty(env, "XDG_CONFIG_HOME"); xdg && xdg->front() == '/') {
        return *xdg + "/llmgw/config.toml";
    }
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
        errno = ENOENT;
        auto text = read(*required);
        if (!text) {
            return unexpected(ConfigError{
                *required + ": cannot read file: " + std::strerror(errno) + std::string(named_by)});
        }
        return std::optional<UserFile>(UserFile{*required, std::move(*text)});
    }
    const auto path = default_path(env);
    if (!path) return std::optional<UserFile>();
    errno = ENOENT;
    auto text = read(*path);
    if (!text) {
        // Missing (or a missing folder on the way): there is no override file.
        if (errno == ENOENT || errno == ENOTDIR) return std::optional<UserFile>();
        return unexpected(ConfigError{*path + ": cannot read file: " + std::strerror(errno)});
    }
    return std::optional<UserFile>(UserFile{*path, std::move(*text)});
}

std::optional<std::string> read_real_file(const std::string& path) {
    // A pipe (<(…)) or a named pipe is read as `cat` reads it: waiting for its writer.
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return std::nullopt;
    std::string text;
    char buffer[65536];
    ssize_t n = 0;
    int error = 0;
    while ((n = ::read(fd, buffer, sizeof buffer)) > 0 || (n < 0 && errno == EINTR)) {
        if (n > 0) text.append(buffer, static_cast<std::size_t>(n));
        if (text.size() > kMaxFileBytes) {  // /dev/zero, or a mistake
            n = -1;
            errno = EFBIG;
            break;
        }
    }
    if (n < 0) error = errno;  // EISDIR for a directory, EIO, EFBIG, …
    ::close(fd);
    if (n < 0) {
        errno = error;
        return std::nullopt;
    }
    return text;
}

}  // namespace llmgw::config
