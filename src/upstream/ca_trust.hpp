// The certificates an https:// upstream is checked against. libcurl's own bundle (the
// system's) unless the environment names another, with curl's rules: CURL_CA_BUNDLE (a file)
// wins; otherwise SSL_CERT_FILE (a file) and SSL_CERT_DIR (a hashed directory, as made by
// `openssl rehash`) both apply. They replace the system's certificates; they do not add to
// them. Read once per process.
#pragma once

#include <optional>
#include <string>

namespace llmgw::upstream {

struct CaTrust {
    std::string file;       // CURLOPT_CAINFO, empty: libcurl's default
    std::string directory;  // CURLOPT_CAPATH, empty: libcurl's default
};

const CaTrust& ca_trust();

// Why the certificates the environment names cannot be used ("SSL_CERT_FILE=/x: No such file
// or directory"), or nothing when they can (or none is named).
std::optional<std::string> ca_trust_problem();

}  // namespace llmgw::upstream
