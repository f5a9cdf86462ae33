#include "upstream/loop_clients.hpp"

#include <cstdlib>
#include <mutex>
#include <string_view>

#include "upstream/curl_attempt.hpp"
#include "upstream/h1_attempt.hpp"

namespace llmgw::upstream {

namespace {

bool curl_forced() {
    static const bool forced = [] {
        const char* value = std::getenv("LLMGW_UPSTREAM_CLIENT");
        return value && std::string_view(value) == "curl";
    }();
    return forced;
}

}  // namespace

void init_curl_once() {
    static std::once_flag once;
    std::call_once(once, [] {
        curl_global_init(CURL_GLOBAL_DEFAULT);
        std::atexit([] { curl_global_cleanup(); });
    });
}

CurlMulti& LoopClients::curl() {
    if (!curl_) {
        init_curl_once();
        curl_ = std::make_unique<CurlMulti>(io);
    }
    return *curl_;
}

std::optional<H1Target> native_target(LoopClients& clients, std::string_view url) {
    if (curl_forced() || http_proxy_configured()) return std::nullopt;
    return clients.h1_targets.get(url);
}

std::shared_ptr<Attempt> make_attempt(LoopClients& clients, const std::optional<H1Target>& native,
                                      const UpstreamRequest& request, AttemptOwner& owner) {
    if (native) return std::make_shared<H1Attempt>(clients.h1, *native, request, owner);
    return std::make_shared<CurlAttempt>(clients.curl(), request, owner);
}

}  // namespace llmgw::upstream
