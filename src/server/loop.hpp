// One event loop: an io_context run by one thread, the upstream clients it drives (libcurl
// multi, native HTTP/1.1 pool), and the sessions it owns. Sessions never leave their loop,
// so nothing in here needs a lock.
#pragma once

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <unordered_set>

#include "config/config.hpp"
#include "server/handler.hpp"
#include "server/lane_gate.hpp"
#include "upstream/loop_clients.hpp"

namespace llmgw::server {

class Session;

// What every loop shares: read-only configuration, the drain flag, the connection count.
struct SharedState {
    const config::Config* config = nullptr;
    HandlerContext handler;
    std::unique_ptr<LaneGate> background;
    std::atomic<bool> draining{false};  // read by every request, set once
    // Changed by every connection's start and end, so on a cache line of its own: another
    // core's write must not evict what every request reads.
    alignas(64) std::atomic<int> connections{0};
};

// A loop's io_context that can destroy its pending handlers on demand (Asio's services shut
// down), not only in its own destructor.
class LoopContext : public boost::asio::io_context {
public:
    using boost::asio::io_context::io_context;
    void destroy_pending_handlers() { shutdown(); }
};

inline upstream::PoolLimits pool_limits(const config::GatewaySettings& g) {
    return {static_cast<std::size_t>(g.upstream_keepalive),
            std::chrono::milliseconds(g.upstream_keepalive_timeout_ms)};
}

struct Loop {
    explicit Loop(SharedState& s) : upstream(io, pool_limits(s.config->gateway)), shared(s) {}
    // Sessions still open (a drain that timed out) are closed, then pending handlers are
    // destroyed, while the session set and the upstream clients they use are still there
    // (loop.cpp). io's own destructor would do it after the members declared below it.
    ~Loop();
    Loop(const Loop&) = delete;
    Loop& operator=(const Loop&) = delete;

    // One thread runs this context and every socket's operations, so the reactor's
    // per-descriptor locks are off; posts from other threads (the listener's start and stop,
    // the lane gate, a drain, a host name lookup's thread) still go through the scheduler's lock.
    LoopContext io{BOOST_ASIO_CONCURRENCY_HINT_UNSAFE_IO};
    upstream::LoopClients upstream;
    SharedState& shared;
    std::unordered_set<Session*> sessions;
    // Sessions of this loop with a request in progress. Written by this loop's thread only
    // (per request, so per loop rather than shared); the drain adds them up.
    std::atomic<int> busy_sessions{0};
    std::uint64_t requests_begun = 0;  // responses begun on this loop (its thread only)
    // Connections this loop refused at max_connections, and when it last said so (its thread
    // only): one WARN line every 10 s at most.
    std::uint64_t refused_at_limit = 0;
    std::chrono::steady_clock::time_point limit_logged_at{};
    // Connections this loop serves, or has been handed and will serve: the listener (on the
    // first loop's thread) adds one when it picks this loop, the session takes it back at its
    // end. Read by every accept, so on a cache line of its own.
    alignas(64) std::atomic<int> connections{0};
};

}  // namespace llmgw::server
