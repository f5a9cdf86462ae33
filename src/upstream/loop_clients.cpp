#include "upstream/loop_clients.hpp"

#include <boost/asio/post.hpp>
#include <cstdlib>
#include <string_view>

#include "upstream/curl_attempt.hpp"
#include "upstream/h1_attempt.hpp"
#include "upstream/libcurl.hpp"
#include "upstream/url_host.hpp"
#include "util/terminal_text.hpp"

namespace llmgw::upstream {

namespace {

std::string_view upstream_client_setting() {
    const char* value = std::getenv("LLMGW_UPSTREAM_CLIENT");
    return value ? value : "";
}

bool curl_forced() {
    static const bool forced = upstream_client_setting() == "curl";
    return forced;
}

// A proxy named by the environment or LLMGW_UPSTREAM_CLIENT=curl: libcurl carries every
// upstream, plain http included.
bool libcurl_carries_all() { return curl_forced() || proxy_configured("http"); }

// An attempt that needs libcurl when the library could not be opened: it ends, from the
// loop, with the reason.
class NoLibcurlAttempt final : public Attempt {
public:
    NoLibcurlAttempt(boost::asio::io_context& io, AttemptOwner& owner) : io_(io), owner_(&owner) {}
    void start() override {
        boost::asio::post(io_, [weak = weak_from_this(), this] {
            const auto self = weak.lock();
            if (!self || !owner_) return;
            owner_->on_attempt_end(GatewayError{
                ErrorType::unknown,
                "libcurl could not be loaded (" + libcurl_error() +
                    "); it carries https:// upstreams, proxies and LLMGW_UPSTREAM_CLIENT=curl",
                true});
        });
    }
    void resume() override {}
    void cancel() override { owner_ = nullptr; }

private:
    boost::asio::io_context& io_;
    AttemptOwner* owner_;
};

}  // namespace

std::optional<std::string> upstream_client_setting_problem() {
    const std::string_view value = upstream_client_setting();
    if (value.empty() || value == "native" || value == "curl") return std::nullopt;
    return "LLMGW_UPSTREAM_CLIENT='" + safe_line(value) + "': not native or curl";
}

CurlMulti* LoopClients::curl() {
    if (!curl_ && load_libcurl()) curl_ = std::make_unique<CurlMulti>(io);
    return curl_.get();
}

bool needs_libcurl(std::string_view scheme) {
    return scheme != "http" || libcurl_carries_all();
}

std::optional<H1Target> native_target(LoopClients& clients, std::string_view url) {
    if (libcurl_carries_all()) return std::nullopt;
    return clients.h1_targets.get(url);
}

std::shared_ptr<Attempt> make_attempt(LoopClients& clients, const std::optional<H1Target>& native,
                                      const UpstreamRequest& request, AttemptOwner& owner) {
    if (native) return std::make_shared<H1Attempt>(clients.h1, *native, request, owner);
    if (CurlMulti* multi = clients.curl())
        return std::make_shared<CurlAttempt>(*multi, clients.names, request, owner);
    return std::make_shared<NoLibcurlAttempt>(clients.io, owner);
}

}  // namespace llmgw::upstream
