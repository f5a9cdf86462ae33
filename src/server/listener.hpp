// The listening socket, shared by every loop: each loop waits on it through its own acceptor
// (a duplicate of the descriptor in that loop's reactor) and accepts what it can. Whichever loop
// accepted it, a connection goes to the loop pick_loop() names: a few clients share one loop,
// many are spread over all of them. A connection then stays on its loop.
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
    // Stops accepting; each loop closes its acceptor on its own thread.
    void stop();
    std::string address() const;  // "127.0.0.1:8787" (the bound port when 0 was asked)
    bool is_loopback() const;

    explicit Listener(std::vector<std::unique_ptr<Loop>>& loops);  // use open()

private:
    struct LoopAcceptor {
        Loop& loop;
        boost::asio::ip::tcp::acceptor acceptor;
        boost::asio::steady_timer retry;  // after running out of descriptors
        bool out_of_descriptors = false;  // logged once until the backlog is taken again
    };
    static constexpr int kAcceptBatch = 32;  // per turn; then the loop's other work has a turn
    static constexpr int kSpread = 32;       // see pick_loop()
    Result<LoopAcceptor*> add_acceptor(Loop& loop, int fd);
    void wait_next(LoopAcceptor& a);
    void accept_pending(LoopAcceptor& a);
    Loop& pick_loop() const;
    void hand_over(Loop& here, int fd);
    void serve(Loop& loop, int fd) const;
    static void log_accept_failure(int error);

    std::vector<std::unique_ptr<Loop>>& loops_;
    boost::asio::ip::tcp protocol_ = boost::asio::ip::tcp::v4();
    std::vector<std::unique_ptr<LoopAcceptor>> acceptors_;  // one per loop, each its own descriptor
};

}  // namespace llmgw::server
