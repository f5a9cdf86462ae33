// The native client's kept-alive upstream connections, one pool per event loop (so no locks).
// Idle connections are reused newest first. One idle for more than a
// millisecond is checked before reuse (a non-blocking peek): anything the upstream sent while it
// was idle (a close, a "408 goodbye", stray bytes) drops it, so those bytes are never read as
// the next answer. One idle past the idle timeout is never reused; a sweep (at that period,
// 10 s at most) closes connections the upstream closed or idle too long.
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

#include "upstream/host_lookup.hpp"

namespace llmgw::upstream {

struct H1Connection {
    explicit H1Connection(boost::asio::io_context& io) : socket(io) {}
    boost::asio::ip::tcp::socket socket;
    boost::beast::flat_buffer buffer;  // bytes read and not parsed yet
    // When the upstream last sent bytes on it (each read stamps it, H1Attempt): idle since
    // then, as the upstream counts. An answer whose last bytes were read long before it was
    // taken (held while its client caught up) is not given back looking freshly idle.
    std::chrono::steady_clock::time_point idle_since;
    std::uint64_t requests = 0;        // answered on this connection so far
};

// How many idle connections a pool keeps per origin, and for how long.
struct PoolLimits {
    // [gateway] upstream_keepalive: enough for the loop's share of a burst of streams to find
    // its connections open the next time; 0 keeps none. The pool never holds more than were
    // in use at once; an idle connection costs a socket and its read buffer.
    std::size_t keep_idle = 1024;
    // [gateway] upstream_keepalive_timeout_ms: an idle connection is not reused after this,
    // and closed soon after (by the sweep); below the upstream's own keep-alive timeout, a
    // request never races the upstream's close.
    std::chrono::milliseconds max_idle{30000};
};

class H1Pool {
public:
    using Clock = std::chrono::steady_clock;

    // `names` is the loop's, shared with libcurl, and outlives the pool.
    H1Pool(boost::asio::io_context& io, HostLookup& names, PoolLimits limits);
    ~H1Pool();
    H1Pool(const H1Pool&) = delete;
    H1Pool& operator=(const H1Pool&) = delete;

    boost::asio::io_context& io() { return io_; }

    // A kept-alive connection to `origin` that still looks open, or null.
    std::unique_ptr<H1Connection> take(const std::string& origin);
    // A connection whose last response was complete and whose peer allows another; its
    // idle_since says when its last bytes came.
    void give_back(const std::string& origin, std::unique_ptr<H1Connection> connection);

    HostLookup& names() { return names_; }

    std::size_t idle_count() const;

private:
    void arm_sweep();
    void sweep();

    boost::asio::io_context& io_;
    HostLookup& names_;
    const PoolLimits limits_;
    boost::asio::steady_timer sweep_timer_;
    bool sweep_armed_ = false;
    std::unordered_map<std::string, std::vector<std::unique_ptr<H1Connection>>> idle_;
    std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace llmgw::upstream
