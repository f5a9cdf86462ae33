// One libcurl multi handle driven by one Asio io_context (SPEC §3: no thread per stream).
// curl tells us which sockets to watch and when to wake it (CURLMOPT_SOCKETFUNCTION,
// CURLMOPT_TIMERFUNCTION); Asio waits on them and calls curl_multi_socket_action. Every
// call happens on the io_context's single thread, so the multi handle needs no lock.
#pragma once

#include <curl/curl.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <unordered_map>
#include <vector>

namespace llmgw::upstream {

// Receives the end of a transfer that was added with CurlMulti::add().
class CurlCompletion {
public:
    virtual ~CurlCompletion() = default;
    virtual void on_curl_done(CURLcode result) = 0;
};

class CurlMulti {
public:
    explicit CurlMulti(boost::asio::io_context& io);
    ~CurlMulti();
    CurlMulti(const CurlMulti&) = delete;
    CurlMulti& operator=(const CurlMulti&) = delete;

    boost::asio::io_context& io() { return io_; }

    // Starts a configured easy handle. `done` is told once when it ends by itself; a handle
    // that is removed first is never reported.
    bool add(CURL* easy, CurlCompletion* done);
    // Stops a transfer at once. Must not be called from inside a curl callback.
    void remove(CURL* easy);
    // Lets curl act on a handle that was unpaused (runs on the next turn of the loop).
    void kick();

    std::size_t active() const { return running_; }

    // Inside curl_multi_socket_action: what a transfer's callbacks hand over now is what one
    // action brought, and `end` (given then) runs once the action and the ends it reported
    // are over, so those pieces can leave as one write.
    bool acting() const { return acting_; }
    void after_action(std::function<void()> end) { after_action_.push_back(std::move(end)); }

private:
    struct SocketWatch;
    using Sockets = std::unordered_map<curl_socket_t, std::unique_ptr<SocketWatch>>;

    static int on_socket(CURL* easy, curl_socket_t fd, int what, void* self, void* socketp);
    static int on_timer(CURLM* multi, long timeout_ms, void* self);
    static int on_close_socket(void* self, curl_socket_t fd);

    void watch(curl_socket_t fd, int what, CURL* easy);
    void arm(curl_socket_t fd, SocketWatch& w);
    void unwatch(curl_socket_t fd);
    void forget(Sockets::iterator it);
    void act(curl_socket_t fd, int bits);
    void act_and_rearm(curl_socket_t fd, std::uint64_t id, int bits);
    void drain_messages();
    void watch_idle(CURL* easy);
    void wait_while_idle(curl_socket_t fd, SocketWatch& w);
    void run_after_action();

    boost::asio::io_context& io_;
    CURLM* multi_ = nullptr;
    boost::asio::steady_timer timer_;
    Sockets sockets_;
    std::size_t running_ = 0;
    std::uint64_t next_socket_id_ = 0;
    bool kick_pending_ = false;
    bool acting_ = false;
    std::vector<std::function<void()>> after_action_;
    std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace llmgw::upstream
