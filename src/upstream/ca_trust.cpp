#include "upstream/ca_trust.hpp"

#include <sys/stat.h>

#include <cerrno>
#include <cstdlib>
#include <fstream>
#include <system_error>

namespace llmgw::upstream {

namespace {

struct NamedTrust {
    CaTrust trust;
    const char* file_variable = nullptr;
    const char* directory_variable = nullptr;
};

std::string env_value(const char* name) {
    const char* value = std::getenv(name);
    return value ? std::string(value) : std::string();
}

NamedTrust read_environment() {
    NamedTrust named;
    if (std::string bundle = env_value("CURL_CA_BUNDLE"); !bundle.empty()) {
        named.trust.file = std::move(bundle);
        named.file_variable = "CURL_CA_BUNDLE";
        return named;
    }
    named.trust.file = env_value("SSL_CERT_FILE");
    if (!named.trust.file.empty()) named.file_variable = "SSL_CERT_FILE";
    named.trust.directory = env_value("SSL_CERT_DIR");
    if (!named.trust.directory.empty()) named.directory_variable = "SSL_CERT_DIR";
    return named;
}

const NamedTrust& named_trust() {
    static const NamedTrust named = read_environment();
    return named;
}

std::string naming(const char* variable, const std::string& path) {
    return std::string(variable) + "=" + path + ": ";
}

std::string os_error() { return std::generic_category().message(errno); }

}  // namespace

const CaTrust& ca_trust() { return named_trust().trust; }

std::optional<std::string> ca_trust_problem() {
    const NamedTrust& named = named_trust();
    std::optional<std::string> problem;
    if (named.file_variable) {
        const std::string& path = named.trust.file;
        struct stat info {};
        if (::stat(path.c_str(), &info) != 0)
            problem = naming(named.file_variable, path) + os_error();
        else if (S_ISDIR(info.st_mode))
            problem = naming(named.file_variable, path) + "a directory, not a file of certificates";
        else if (!std::ifstream(path))
            problem = naming(named.file_variable, path) + "cannot be read";
    }
    if (!problem && named.directory_variable) {
        const std::string& path = named.trust.directory;
        struct stat info {};
        if (::stat(path.c_str(), &info) != 0)
            problem = naming(named.directory_variable, path) + os_error();
        else if (!S_ISDIR(info.st_mode))
            problem = naming(named.directory_variable, path) + "not a directory";
    }
    if (problem) *problem += " (it names the certificates https:// upstreams are checked against)";
    return problem;
}

}  // namespace llmgw::upstream
