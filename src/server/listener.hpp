// Accepts connections on one loop and hands each socket to the next loop in turn. A burst
// waiting in the backlog is taken at once (up to kAcceptBatch), not one per turn of the loop.
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
    void stop();
    std::string address() const;  // "127.0.0.1:8787" (the bound port when 0 was asked)
    bool is_loopback() const;

    explicit Listener(std::vector<std::unique_ptr<Loop>>& loops);  // use open()

private:
    static constexpr int kAcceptBatch = 1024;  // then other work gets a turn
    void accept_next();
    void accept_pending();
    void hand_off(Loop& target, boost::asio::ip::tcp::socket socket);

    std::vector<std::unique_ptr<Loop>>& loops_;
    boost::asio::ip::tcp::acceptor acceptor_;
    std::size_t next_loop_ = 0;
};

}  // namespace llmgw::server
