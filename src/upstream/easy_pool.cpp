#include "upstream/easy_pool.hpp"

#include <vector>

#include "upstream/libcurl.hpp"

namespace llmgw::upstream {
namespace {

constexpr std::size_t kMaxPooled = 256;

struct Pool {
    std::vector<CURL*> handles;
    ~Pool() {
        for (CURL* h : handles) libcurl().easy_cleanup(h);
    }
};

Pool& pool() {
    thread_local Pool p;
    return p;
}

}  // namespace

CURL* acquire_easy() {
    Pool& p = pool();
    if (p.handles.empty()) return libcurl().easy_init();
    CURL* h = p.handles.back();
    p.handles.pop_back();
    return h;
}

void release_easy_handle(CURL* easy) {
    Pool& p = pool();
    if (p.handles.size() >= kMaxPooled) {
        libcurl().easy_cleanup(easy);
        return;
    }
    libcurl().easy_reset(easy);
    p.handles.push_back(easy);
}

}  // namespace llmgw::upstream
