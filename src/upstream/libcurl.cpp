#include "upstream/libcurl.hpp"

#include <cstdlib>
#include <mutex>

#if LLMGW_LIBCURL_DLOPEN
#include <dlfcn.h>
#endif

namespace llmgw::upstream {
namespace {

LibCurl functions;
std::string load_error;
bool loaded = false;

#if LLMGW_LIBCURL_DLOPEN

template <class Function>
bool bind(void* library, const char* name, Function& out) {
    void* symbol = ::dlsym(library, name);
    if (!symbol) {
        load_error = std::string(name) + " is missing from the library";
        return false;
    }
    out = reinterpret_cast<Function>(symbol);
    return true;
}

// LLMGW_LIBCURL when set; else the library built against, else its soname (the same
// library wherever the C library's search finds it). Lazy binding is what a linked libcurl
// gets at start; RTLD_NOW resolves every function of its ~30 libraries at once (a call over
// https: 38.8 M instructions against 35.9 M lazily; curl itself 32.6 M). Debian builds most of
// them with BIND_NOW, which applies either way; the 18 functions used are looked up below.
void* open_library(const char*& file, bool resolve_now) {
    const int mode = (resolve_now ? RTLD_NOW : RTLD_LAZY) | RTLD_LOCAL;
    const char* chosen = std::getenv("LLMGW_LIBCURL");
    file = (chosen && *chosen) ? chosen : LLMGW_LIBCURL_PATH;
    void* library = ::dlopen(file, mode);
    if (!library && file != chosen) {
        file = LLMGW_LIBCURL_SONAME;
        library = ::dlopen(file, mode);
    }
    if (!library) {
        const char* reason = ::dlerror();
        load_error = reason ? reason : file;
    }
    return library;
}

bool bind_all(bool resolve_now) {
    const char* file = nullptr;
    void* library = open_library(file, resolve_now);
    if (!library) return false;
    LibCurl& f = functions;
    const bool all = bind(library, "curl_global_init", f.global_init) &&
                     bind(library, "curl_global_cleanup", f.global_cleanup) &&
                     bind(library, "curl_easy_init", f.easy_init) &&
                     bind(library, "curl_easy_setopt", f.easy_setopt) &&
                     bind(library, "curl_easy_getinfo", f.easy_getinfo) &&
                     bind(library, "curl_easy_pause", f.easy_pause) &&
                     bind(library, "curl_easy_reset", f.easy_reset) &&
                     bind(library, "curl_easy_cleanup", f.easy_cleanup) &&
                     bind(library, "curl_easy_strerror", f.easy_strerror) &&
                     bind(library, "curl_slist_append", f.slist_append) &&
                     bind(library, "curl_slist_free_all", f.slist_free_all) &&
                     bind(library, "curl_multi_init", f.multi_init) &&
                     bind(library, "curl_multi_setopt", f.multi_setopt) &&
                     bind(library, "curl_multi_add_handle", f.multi_add_handle) &&
                     bind(library, "curl_multi_remove_handle", f.multi_remove_handle) &&
                     bind(library, "curl_multi_socket_action", f.multi_socket_action) &&
                     bind(library, "curl_multi_info_read", f.multi_info_read) &&
                     bind(library, "curl_multi_cleanup", f.multi_cleanup);
    if (!all) load_error = std::string(file) + ": " + load_error;
    return all;  // a library that fails here stays open: it may be in use elsewhere
}

#else

bool bind_all(bool /*resolve_now: linked*/) {
    functions = LibCurl{&::curl_global_init,        &::curl_global_cleanup,  &::curl_easy_init,
                        &::curl_easy_setopt,        &::curl_easy_getinfo,    &::curl_easy_pause,
                        &::curl_easy_reset,         &::curl_easy_cleanup,    &::curl_easy_strerror,
                        &::curl_slist_append,       &::curl_slist_free_all,  &::curl_multi_init,
                        &::curl_multi_setopt,       &::curl_multi_add_handle,
                        &::curl_multi_remove_handle, &::curl_multi_socket_action,
                        &::curl_multi_info_read,    &::curl_multi_cleanup};
    return true;
}

#endif

}  // namespace

bool load_libcurl(bool resolve_now) {
    static std::once_flag once;
    std::call_once(once, [resolve_now] {
        if (!bind_all(resolve_now)) return;
        const CURLcode code = functions.global_init(CURL_GLOBAL_DEFAULT);
        if (code != CURLE_OK) {
            load_error = std::string("curl_global_init failed: ") + functions.easy_strerror(code);
            return;
        }
        loaded = true;
        std::atexit([] { functions.global_cleanup(); });
    });
    return loaded;
}

const std::string& libcurl_error() { return load_error; }

const LibCurl& libcurl() { return functions; }

}  // namespace llmgw::upstream
