#include "server/listener.hpp"

#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <boost/asio/post.hpp>
#include <cerrno>
#include <cstring>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "server/session.hpp"
#include "util/log.hpp"
#include "util/strings.hpp"

namespace llmgw::server {

namespace asio = boost::asio;
using asio::ip::tcp;

namespace {

// After accept() ran out of descriptors (or memory), the backlog waits this long: the next try
// would fail the same way at once.
constexpr std::chrono::milliseconds kRetryAfter{100};

// One more in `open` unless it holds `limit` already, in one step: loops that each read it
// below the limit in the same instant cannot pass it together, and a refusal never counts,
// even for a moment (another loop would refuse at the limit minus one).
bool take_a_place(std::atomic<int>& open, int limit) {
    int now = open.load(std::memory_order_relaxed);
    do {
        if (now >= limit) return false;
    } while (!open.compare_exchange_weak(now, now + 1, std::memory_order_relaxed));
    return true;
}

}  // namespace

// An accepted descriptor counted on the loop picked for it: closed, and given back to that
// loop's count, unless a session takes it (or if the loop stopped before it ran).
class Listener::AcceptedFd {
public:
    AcceptedFd(int fd, Loop& loop) : fd_(fd), loop_(&loop) {}
    AcceptedFd(AcceptedFd&& other) noexcept : fd_(std::exchange(other.fd_, -1)), loop_(other.loop_) {}
    AcceptedFd& operator=(AcceptedFd&&) = delete;
    ~AcceptedFd() {
        if (fd_ < 0) return;
        ::close(fd_);
        loop_->connections.fetch_sub(1, std::memory_order_relaxed);
    }
    int get() const { return fd_; }
    void release() { fd_ = -1; }

private:
    int fd_;
    Loop* loop_;
};

Listener::Listener(std::vector<std::unique_ptr<Loop>>& loops)
    : loops_(loops), home_(*loops.front()), acceptor_(home_.io), retry_(home_.io) {}

Result<std::unique_ptr<Listener>> Listener::open(std::vector<std::unique_ptr<Loop>>& loops,
                                                 const std::string& host, std::uint16_t port) {
    auto listener = std::make_unique<Listener>(loops);
    boost::system::error_code ec;
    tcp::resolver resolver(loops.front()->io);
    const auto results = resolver.resolve(host, std::to_string(port),
                                          tcp::resolver::passive | tcp::resolver::numeric_service, ec);
    if (ec || results.empty()) return unexpected("cannot resolve '" + host + "': " + ec.message());
    // A name may give several addresses ("localhost": ::1 first, then 127.0.0.1): IPv4 ones
    // first, as the URLs in the docs are http://127.0.0.1:8787, and the next when one cannot
    // be bound (a loopback without IPv6, say).
    std::vector<tcp::endpoint> endpoints;
    for (const auto& entry : results) endpoints.push_back(entry.endpoint());
    std::stable_partition(endpoints.begin(), endpoints.end(),
                          [](const tcp::endpoint& e) { return e.address().is_v4(); });
    // Only an address this machine does not have moves on: a port in use on 127.0.0.1 must
    // not end with the gateway on [::1] and clients of 127.0.0.1 reaching the other process.
    std::optional<std::string> first_error;
    for (const tcp::endpoint& endpoint : endpoints) {
        boost::system::error_code why;
        auto bound = listener->listen_on(endpoint, why);
        if (bound) return listener;
        if (!first_error) first_error = bound.error();
        if (why.value() != EADDRNOTAVAIL && why.value() != EAFNOSUPPORT) break;
    }
    return unexpected(*first_error);
}

Result<bool> Listener::listen_on(const tcp::endpoint& endpoint, boost::system::error_code& ec) {
    auto& a = acceptor_;
    const auto fail = [&a, &ec]() -> Result<bool> {
        boost::system::error_code ignored;
        a.close(ignored);
        if (ec.value() == EADDRINUSE) {
            return unexpected(ec.message() +
                              ": another process listens there; stop it, or choose another port "
                              "(--port, or port in [gateway])");
        }
        if (ec.value() == EACCES) {
            return unexpected(ec.message() +
                              ": not allowed to listen there (ports below 1024 need privileges); "
                              "choose another port (--port, or port in [gateway])");
        }
        return unexpected(ec.message());
    };
    protocol_ = endpoint.protocol();
    a.open(endpoint.protocol(), ec);
    if (ec) return fail();
    a.set_option(tcp::acceptor::reuse_address(true), ec);
    a.bind(endpoint, ec);
    if (ec) return fail();
    a.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) return fail();
    a.non_blocking(true, ec);  // accept_pending() takes a backlog without blocking
    if (ec) return fail();
    return true;
}

void Listener::start() {
    asio::post(home_.io, [this] { accept_pending(); });
}

void Listener::stop() {
    asio::post(home_.io, [this] {
        boost::system::error_code ignored;
        acceptor_.close(ignored);
        retry_.cancel();
    });
}

std::string Listener::address() const {
    boost::system::error_code ec;
    const auto ep = acceptor_.local_endpoint(ec);
    if (ec) return "?";
    return str::bracketed_host(ep.address().to_string()) + ":" + std::to_string(ep.port());
}

bool Listener::is_loopback() const {
    boost::system::error_code ec;
    const auto ep = acceptor_.local_endpoint(ec);
    return !ec && ep.address().is_loopback();
}

// Waits for the next connection. Only after accept() said "nothing more": the reactor reports
// an edge, and connections left in the backlog would make none.
void Listener::wait_next() {
    acceptor_.async_wait(tcp::acceptor::wait_read, [this](const boost::system::error_code& ec) {
        if (ec == asio::error::operation_aborted || !acceptor_.is_open()) return;
        accept_pending();
    });
}

// A burst of clients (a batch of streams opened at once) waits in the backlog: take a batch
// now rather than one connection per turn of the loop, as nginx's multi_accept does, and the
// rest on the next turn.
void Listener::accept_pending() {
    if (!acceptor_.is_open()) return;
    for (int i = 0; i < kAcceptBatch; ++i) {
        const int fd = ::accept4(acceptor_.native_handle(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd >= 0) {
            hand_over(fd);
            continue;
        }
        const int error = errno;
        if (error == EAGAIN || error == EWOULDBLOCK) {
            out_of_descriptors_ = false;  // the backlog is empty: a later shortage is news
            wait_next();
            return;
        }
        if (error == EINTR || error == ECONNABORTED) continue;  // that client is gone; the next
        if (error == EMFILE || error == ENFILE || error == ENOBUFS || error == ENOMEM) {
            if (!out_of_descriptors_) log_accept_failure(error);  // once, not every retry
            out_of_descriptors_ = true;
            retry_.expires_after(kRetryAfter);
            retry_.async_wait([this](const boost::system::error_code& ec) {
                if (!ec) accept_pending();
            });
            return;
        }
        // Anything else belongs to that one connection (EPROTO, EPERM from a filter): go on.
        log_accept_failure(error);
    }
    asio::post(home_.io, [this] { accept_pending(); });
}

// The first loop (in order) that has fewer than kFill connections, or else the least busy one.
// A few clients stay together on one loop, whose thread busy-polls between their requests
// (busy_poll.hpp) instead of waking per request, and which, on a machine whose other cores
// run the clients, is not preempted by them while it holds their requests. Past kFill a loop
// is full, and many clients are spread evenly: one loop holding most of them would be the
// bottleneck while the others idle. Measured on two cores shared with the clients and the
// upstream (BENCHMARKS.md, "Busy polling"): with busy polling, 4, 8 and 16 clients packed
// onto one loop had a lower p50 and p99 than spread over two; without it (until 11-30 19:00)
// spreading them was better at p50.
Loop& Listener::pick_loop() const {
    int fewest = loops_.front()->connections.load(std::memory_order_relaxed);
    for (const auto& loop : loops_) {
        fewest = std::min(fewest, loop->connections.load(std::memory_order_relaxed));
    }
    const int below = std::max(kFill, fewest + 1);
    for (const auto& loop : loops_) {
        if (loop->connections.load(std::memory_order_relaxed) < below) return *loop;
    }
    return *loops_.front();  // counts moved under us; any loop will do
}

void Listener::hand_over(int fd) {
    Loop& there = loops_.size() > 1 ? pick_loop() : home_;
    there.connections.fetch_add(1, std::memory_order_relaxed);
    AcceptedFd accepted(fd, there);
    if (&there == &home_) {
        serve(home_, std::move(accepted));
        return;
    }
    asio::post(there.io, [this, &there, accepted = std::move(accepted)]() mutable {
        serve(there, std::move(accepted));
    });
}

void Listener::log_accept_failure(int error) {
    if (!log_enabled(LogLevel::warn)) return;
    if (error == EMFILE || error == ENFILE) {
        log_line(LogLevel::warn, "", "accept failed, new connections wait until descriptors are free",
                 {log_str("reason", std::strerror(error)),
                  log_str("hint", "raise the open-files limit (ulimit -n) or lower max_connections")});
        return;
    }
    log_line(LogLevel::warn, "", "accept failed", {log_str("reason", std::strerror(error))});
}

// On `loop`'s thread. The connection stays counted on `loop`, and in the gateway's count, while
// its session lives.
void Listener::serve(Loop& loop, AcceptedFd fd) const {
    const auto& g = loop.shared.config->gateway;
    auto& open = loop.shared.connections;
    if (!take_a_place(open, g.max_connections)) {
        // At most one line per loop every 10 s, with the count: a flood of connections (or a
        // steady state at the limit) is not a flood of log lines.
        ++loop.refused_at_limit;
        const auto now = std::chrono::steady_clock::now();
        if (loop.refused_at_limit == 1 || now - loop.limit_logged_at >= std::chrono::seconds(10)) {
            log_line(LogLevel::warn, "", "connection limit reached, closing new connections",
                     {log_num("max_connections", g.max_connections),
                      log_num("refused", static_cast<long long>(loop.refused_at_limit))});
            loop.limit_logged_at = now;
        }
        return;  // closed and given back by `fd`
    }
    tcp::socket socket(loop.io);
    boost::system::error_code ec;
    socket.assign(protocol_, fd.get(), ec);
    if (ec) {
        open.fetch_sub(1, std::memory_order_relaxed);
        log_line(LogLevel::warn, "", "accept failed", {log_str("reason", ec.message())});
        return;
    }
    fd.release();  // the socket owns it, and the session gives both counts back
    std::make_shared<Session>(std::move(socket), loop)->start();
}

}  // namespace llmgw::server
