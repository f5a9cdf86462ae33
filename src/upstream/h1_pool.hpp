// The native client's kept-alive upstream connections and resolved addresses, one pool per
// event loop (so no locks). Idle connections are reused newest first. While a connection is
// idle a one-byte read is pending on it: anything the upstream sends then (a close, a
// "408 goodbye", stray bytes) retires it, so it can never be read as the next answer. A sweep
// closes connections idle too long.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <chrono>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

namespace llmgw::upstream {

struct H1Connection {
    explicit H1Connection(boost::asio::io_context& io) : socket(io) {}
    boost::asio::ip::tcp::socket socket;
    boost::beast::flat_buffer buffer;  // bytes read and not parsed yet
    std::chrono::steady_clock::time_point idle_since;
    std::uint64_t requests = 0;        // answered on this connection so far
    std::uint64_t parked = 0;          // non-zero while in the pool: which stay it is
    char probe = 0;                    // the idle watch reads into it
};

class H1Pool {
public:
    using Clock = std::chrono::steady_clock;
    // Per origin and loop: enough for the loop's share of a busy client's connections.
    static constexpr std::size_t kMaxIdlePerOrigin = 64;
    static constexpr std::chrono::seconds kMaxIdle{30};
    static constexpr std::chrono::seconds kAddressTtl{30};

    explicit H1Pool(boost::asio::io_context& io);
    ~H1Pool();
    H1Pool(const H1Pool&) = delete;
    H1Pool& operator=(const H1Pool&) = delete;

    boost::asio::io_context& io() { return io_; }

    // A kept-alive connection to `origin` that still looks open, or null.
    std::shared_ptr<H1Connection> take(const std::string& origin);
    // A connection whose last response was complete and whose peer allows another. Call it
    // from the handler that read the end of that response, before the loop polls again, so
    // that anything the peer sends later wakes the idle watch.
    void give_back(const std::string& origin, std::shared_ptr<H1Connection> connection);

    // Addresses of `origin` resolved earlier and still fresh, or null.
    const std::vector<boost::asio::ip::tcp::endpoint>* addresses(const std::string& origin) const;
    void remember(const std::string& origin, std::vector<boost::asio::ip::tcp::endpoint> addresses);
    boost::asio::ip::tcp::resolver& resolver() { return resolver_; }

    std::size_t idle_count() const;

private:
    struct Resolved {
        std::vector<boost::asio::ip::tcp::endpoint> addresses;
        Clock::time_point expires;
    };
    void arm_sweep();
    void sweep();
    void watch_idle(const std::string& origin, const std::shared_ptr<H1Connection>& connection);
    void retire(const std::string& origin, const H1Connection* connection);

    boost::asio::io_context& io_;
    boost::asio::ip::tcp::resolver resolver_;
    boost::asio::steady_timer sweep_timer_;
    bool sweep_armed_ = false;
    std::unordered_map<std::string, std::vector<std::shared_ptr<H1Connection>>> idle_;
    std::uint64_t next_stay_ = 0;
    std::unordered_map<std::string, Resolved> resolved_;
    std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace llmgw::upstream
