#include "upstream/ca_trust.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <system_error>

namespace llmgw::upstream {

namespace {

struct NamedTrust {
    CaTrust trust;
    const char* variable = nullptr;  // the one that named it, or null
};

struct Variable {
    const char* name;
    bool names_directory;
};

// The curl tool's order: the first one set is used.
constexpr Variable kVariables[] = {
    {"CURL_CA_BUNDLE", false}, {"SSL_CERT_DIR", true}, {"SSL_CERT_FILE", false}};

NamedTrust read_environment() {
    NamedTrust named;
    for (const Variable& variable : kVariables) {
        const char* value = std::getenv(variable.name);
        if (!value || !*value) continue;
        named.variable = variable.name;
        (variable.names_directory ? named.trust.directory : named.trust.file) = value;
        break;
    }
    return named;
}

const NamedTrust& named_trust() {
    static const NamedTrust named = read_environment();
    return named;
}

}  // namespace

const CaTrust& ca_trust() { return named_trust().trust; }

std::optional<std::string> ca_trust_problem() {
    const NamedTrust& named = named_trust();
    if (!named.variable) return std::nullopt;
    const bool directory = !named.trust.directory.empty();
    const std::string& path = directory ? named.trust.directory : named.trust.file;
    // stat and access only: opening a FIFO named by mistake would block until a writer came.
    std::string why;
    struct stat info {};
    if (::stat(path.c_str(), &info) != 0)
        why = std::generic_category().message(errno);
    else if (directory && !S_ISDIR(info.st_mode))
        why = "not a directory";
    else if (!directory && S_ISDIR(info.st_mode))
        why = "a directory, not a file of certificates";
    else if (!directory && !S_ISREG(info.st_mode))
        why = "not a regular file";
    else if (::access(path.c_str(), directory ? R_OK | X_OK : R_OK) != 0)
        why = std::generic_category().message(errno);
    else
        return std::nullopt;
    return std::string(named.variable) + "=" + path + ": " + why +
           " (it names the certificates https:// upstreams are checked against)";
}

}  // namespace llmgw::upstream
