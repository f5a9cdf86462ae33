// The certificates an https:// upstream is checked against: libcurl's defaults (on Debian the
// system's bundle and /etc/ssl/certs) unless the environment names others, with the curl
// tool's rule: CURL_CA_BUNDLE (a file) if set, else SSL_CERT_DIR (a directory hashed by
// `openssl rehash`), else SSL_CERT_FILE (a file). One of them is used; it takes the place of
// libcurl's default of its kind, and the default of the other kind still applies. Read once
// per process; an empty value counts as unset.
#pragma once

#include <optional>
#include <string>

namespace llmgw::upstream {

struct CaTrust {
    std::string file;       // CURLOPT_CAINFO, empty: libcurl's default
    std::string directory;  // CURLOPT_CAPATH, empty: libcurl's default
};

const CaTrust& ca_trust();

// Why the file or directory the environment names cannot be used ("SSL_CERT_FILE=/x: No such
// file or directory (...)"), or nothing when it can (or none is named).
std::optional<std::string> ca_trust_problem();

}  // namespace llmgw::upstream
