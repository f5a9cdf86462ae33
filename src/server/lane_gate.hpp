// The background lane's admission (SPEC §3): a fixed number of concurrent exchanges and a
// bounded queue of waiters. Shared by every loop, so it is the one place with a lock; a
// freed slot is handed to the next waiter on that waiter's own loop.
#pragma once

#include <boost/asio/io_context.hpp>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>

namespace llmgw::server {

class LaneGate {
public:
    LaneGate(int slots, int queue_max) : slots_(slots), queue_max_(queue_max) {}

    enum class Admit { granted, queued, full };
    // granted: a slot is taken now. queued: `on_grant` runs on `io` once a slot is handed over
    // (it then owns the slot and must release() it). full: nothing was taken.
    Admit acquire(std::uint64_t& ticket, boost::asio::io_context& io, std::function<void()> on_grant);
    // Withdraws a queued waiter; false when its grant is already on its way.
    bool cancel(std::uint64_t ticket);
    void release();
    int in_use() const;

private:
    struct Waiter {
        std::uint64_t ticket;
        boost::asio::io_context* io;
        std::function<void()> on_grant;
    };
    mutable std::mutex mutex_;
    int slots_;
    int queue_max_;
    int in_use_ = 0;
    std::uint64_t next_ticket_ = 0;
    std::deque<Waiter> waiters_;
};

}  // namespace llmgw::server
