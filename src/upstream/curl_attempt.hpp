// An attempt carried by libcurl: HTTPS, HTTP/2, proxies and anything the native HTTP/1.1
// client does not speak. One easy handle from the per-thread pool, driven by the loop's multi.
// The upstream's name is looked up by the loop's HostLookup and handed to libcurl
// (CURLOPT_RESOLVE), unless a proxy looks it up.
#pragma once

#include <chrono>
#include <memory>
#include <optional>

#include "upstream/attempt.hpp"
#include "upstream/curl_multi.hpp"
#include "upstream/host_lookup.hpp"
#include "upstream/url_host.hpp"

namespace llmgw::upstream {

class CurlAttempt final : public Attempt, public CurlCompletion {
public:
    CurlAttempt(CurlMulti& multi, HostLookup& names, const UpstreamRequest& request,
                AttemptOwner& owner);
    ~CurlAttempt() override;
    CurlAttempt(const CurlAttempt&) = delete;
    CurlAttempt& operator=(const CurlAttempt&) = delete;

    void start() override;
    void resume() override;
    void cancel() override;
    std::string looking_up() const override;

private:
    static std::size_t on_header_line(char* data, std::size_t size, std::size_t n, void* self);
    static std::size_t on_write(char* data, std::size_t size, std::size_t n, void* self);
    static int on_send(void* self, char* remote_ip, char* local_ip, int remote_port,
                       int local_port);
    void on_curl_done(CURLcode result) override;
    void join_batch();
    bool request_sent() const;
    // Hands the transfer to libcurl; `resolve` ("host:port:addresses") when the name is known.
    void begin(const std::string& resolve);
    void fail_from_loop(GatewayError error);
    bool configure();
    // Takes the transfer out of the multi handle (unpaused first) and releases it.
    void remove();
    void release();

    CurlMulti& multi_;
    HostLookup& names_;
    const UpstreamRequest& request_;
    AttemptOwner* owner_;
    CURL* easy_ = nullptr;
    curl_slist* header_list_ = nullptr;
    curl_slist* resolve_list_ = nullptr;
    std::optional<UrlHost> name_;  // looked up by us, not libcurl
    bool looking_up_ = false;
    HeadParser parser_;
    std::size_t head_bytes_ = 0;
    std::optional<GatewayError> own_error_;  // why this attempt stopped curl itself
    bool paused_ = false;
    bool in_callback_ = false;  // inside the owner's call from a curl callback
    bool head_delivered_ = false;  // header lines after it are trailers
    bool in_batch_ = false;        // the owner's batch for this action is open
    int sends_ = 0;                // times libcurl was about to send the request
    std::chrono::steady_clock::time_point first_send_;
    char error_buffer_[CURL_ERROR_SIZE] = {};
};

}  // namespace llmgw::upstream
