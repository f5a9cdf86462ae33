// libcurl's entry points. On Linux the library is opened on first need (dlopen), not linked:
// its dependency tree (TLS, LDAP, Kerberos, SSH, ~30 shared objects, and GnuTLS's start-up
// work) costs ~4 ms at every start, and `llmgw services`, `route`, `--version`, and `call` or
// `serve` to http:// upstreams never use it. Elsewhere (macOS) the same table points at the
// linked functions. Everything that calls libcurl goes through libcurl().
#pragma once

#include <curl/curl.h>

#include <string>

namespace llmgw::upstream {

struct LibCurl {
    decltype(&::curl_global_init) global_init;
    decltype(&::curl_global_cleanup) global_cleanup;
    decltype(&::curl_easy_init) easy_init;
    decltype(&::curl_easy_setopt) easy_setopt;
    decltype(&::curl_easy_getinfo) easy_getinfo;
    decltype(&::curl_easy_pause) easy_pause;
    decltype(&::curl_easy_reset) easy_reset;
    decltype(&::curl_easy_cleanup) easy_cleanup;
    decltype(&::curl_easy_strerror) easy_strerror;
    decltype(&::curl_slist_append) slist_append;
    decltype(&::curl_slist_free_all) slist_free_all;
    decltype(&::curl_multi_init) multi_init;
    decltype(&::curl_multi_setopt) multi_setopt;
    decltype(&::curl_multi_add_handle) multi_add_handle;
    decltype(&::curl_multi_remove_handle) multi_remove_handle;
    decltype(&::curl_multi_socket_action) multi_socket_action;
    decltype(&::curl_multi_info_read) multi_info_read;
    decltype(&::curl_multi_cleanup) multi_cleanup;
};

// Opens libcurl and runs curl_global_init, once per process (curl_global_cleanup at exit).
// Thread-safe; a program with several threads still calls it before they start, so that no
// event loop waits on it. False when the library could not be opened: libcurl_error() says why.
// LLMGW_LIBCURL names another library file to open.
// `resolve_now`: every function of libcurl's libraries is bound at load (RTLD_NOW), so a
// library missing one fails here, cleanly, rather than killing the process at its first call;
// `serve` loads it so, once at start. Otherwise bound lazily, as a linked library is (faster:
// `call`). The first call decides.
bool load_libcurl(bool resolve_now = false);
const std::string& libcurl_error();

// The functions; only after load_libcurl() returned true.
const LibCurl& libcurl();

}  // namespace llmgw::upstream
