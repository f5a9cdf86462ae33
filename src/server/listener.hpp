// The listening socket, shared by every loop: each loop waits on it through its own acceptor
// (a duplicate of the descriptor in that loop's reactor), accepts what it can and serves those
// connections itself, as nginx's workers do. A busy loop accepts less and an idle one more, a
// burst is taken in batches by whichever loops are free, and no socket crosses threads.
#pragma once

#include <boost/asio/ip/tcp.hpp>
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
    };
    static constexpr int kAcceptBatch = 32;  // per wake-up; then the loop's other work has a turn
    void accept_next(LoopAcceptor& a);
    void accept_pending(LoopAcceptor& a);
    static void serve(Loop& loop, boost::asio::ip::tcp::socket socket);
    static void log_accept_failure(const boost::system::error_code& ec);

    std::vector<std::unique_ptr<Loop>>& loops_;
    std::vector<std::unique_ptr<LoopAcceptor>> acceptors_;  // [0] owns the bound socket
};

}  // namespace llmgw::server
