// The listening socket. The first loop accepts every connection and either serves it or hands
// it to the loop pick_loop() names, the least busy one. A connection then stays on its loop.
// One loop waits on the socket, so a new connection wakes one thread, and a client served by the
// first loop costs no cross-thread hop.
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <memory>
#include <string>
#include <vector>

#include "server/loop.hpp"
#include "util/result.hpp"

namespace llmgw::server {

class Listener {
public:
    static Result<std::unique_ptr<Listener>> open(std::vector<std::unique_ptr<Loop>>& loops,
                                                  const std::string& host, std::uint16_t port);
    void start();
    // Stops accepting: the socket is closed on the first loop's thread.
    void stop();
    std::string address() const;  // "127.0.0.1:8787" (the bound port when 0 was asked)
    bool is_loopback() const;
    int native_handle() { return acceptor_.native_handle(); }

    explicit Listener(std::vector<std::unique_ptr<Loop>>& loops);  // use open()

private:
    // Opens, binds and listens on `endpoint`; the acceptor closed again when it cannot, and
    // `ec` says why.
    Result<bool> listen_on(const boost::asio::ip::tcp::endpoint& endpoint,
                           boost::system::error_code& ec);
    static constexpr int kAcceptBatch = 32;  // per turn; then the loop's other work has a turn
    static constexpr int kFill = 16;  // connections a loop takes before the next one gets any
    void wait_next();
    void accept_pending();
    Loop& pick_loop() const;
    class AcceptedFd;
    void hand_over(int fd);
    void serve(Loop& loop, AcceptedFd fd) const;
    static void log_accept_failure(int error);

    std::vector<std::unique_ptr<Loop>>& loops_;
    Loop& home_;  // the first loop: it accepts
    boost::asio::ip::tcp protocol_ = boost::asio::ip::tcp::v4();
    boost::asio::ip::tcp::acceptor acceptor_;
    boost::asio::steady_timer retry_;  // after running out of descriptors
    bool out_of_descriptors_ = false;  // logged once until the backlog is taken again
};

}  // namespace llmgw::server
