#include "upstream/h1_pool.hpp"

#include <sys/socket.h>

#include <algorithm>
#include <cerrno>

namespace llmgw::upstream {

namespace {

// Reused sooner than this after its last answer: no check. Under load the newest connection is
// reused within microseconds and the check (one recv) would cost ~5 % of a request's CPU.
constexpr std::chrono::milliseconds kCheckAfter{1};
// The sweep's period: the idle timeout, between these.
constexpr std::chrono::milliseconds kSweepAtMost{10000};
constexpr std::chrono::milliseconds kSweepAtLeast{100};

// True when the peer has not closed the connection nor sent anything unasked.
bool still_open(H1Connection& c) {
    char byte = 0;
    const ssize_t n = ::recv(c.socket.native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
    return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
}

}  // namespace

H1Pool::H1Pool(boost::asio::io_context& io, HostLookup& names, PoolLimits limits)
    : io_(io), names_(names), limits_(limits), sweep_timer_(io) {}

H1Pool::~H1Pool() {
    *alive_ = false;
    sweep_timer_.cancel();
}

std::unique_ptr<H1Connection> H1Pool::take(const std::string& origin) {
    const auto it = idle_.find(origin);
    if (it == idle_.end()) return nullptr;
    auto& list = it->second;
    // The real time, not the handler's reading: that one is older by the work done before
    // this (a large body's copy), and an idle time measured short would skip the check.
    const auto now = Clock::now();
    while (!list.empty()) {
        std::unique_ptr<H1Connection> c = std::move(list.back());
        list.pop_back();
        const auto idle = now - c->idle_since;
        if (idle >= limits_.max_idle) continue;  // closed, as the sweep would have
        // Anything the upstream sent while the connection was idle (a close, a "408 goodbye",
        // stray bytes) answers no request of ours: such a connection is dropped, never read.
        if (idle < kCheckAfter || still_open(*c)) return c;
    }
    return nullptr;
}

void H1Pool::give_back(const std::string& origin, std::unique_ptr<H1Connection> connection) {
    auto& list = idle_[origin];
    if (list.size() >= limits_.keep_idle) return;  // closed here
    list.push_back(std::move(connection));
    arm_sweep();
}

std::size_t H1Pool::idle_count() const {
    std::size_t n = 0;
    for (const auto& [origin, list] : idle_) n += list.size();
    return n;
}

void H1Pool::arm_sweep() {
    if (sweep_armed_) return;
    sweep_armed_ = true;
    sweep_timer_.expires_after(std::clamp(limits_.max_idle, kSweepAtLeast, kSweepAtMost));
    sweep_timer_.async_wait([this, alive = alive_](const boost::system::error_code& ec) {
        if (!*alive) return;
        sweep_armed_ = false;
        if (ec) return;
        sweep();
    });
}

// Closes connections the upstream closed (no CLOSE_WAIT socket stays longer than a sweep's
// period, 10 s at most) or that idled past the idle timeout.
void H1Pool::sweep() {
    const auto now = Clock::now();
    bool any = false;
    for (auto it = idle_.begin(); it != idle_.end();) {
        auto& list = it->second;
        std::erase_if(list, [&](const std::unique_ptr<H1Connection>& c) {
            return now - c->idle_since >= limits_.max_idle || !still_open(*c);
        });
        if (list.empty()) {
            it = idle_.erase(it);
        } else {
            any = true;
            ++it;
        }
    }
    if (any) arm_sweep();
}

}  // namespace llmgw::upstream
