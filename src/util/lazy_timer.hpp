// A timer for the earliest of deadlines that keep moving. Asking to wake later than the pending
// wait costs nothing: it wakes first and its owner, finding nothing due yet, asks again. Only
// an earlier wake-up re-arms it. Each arm and cancel takes the reactor's lock and a heap
// operation, and most deadlines only move later, so a request usually arms it once or never.
//
// One timer may serve one owner after another (a connection's exchanges, one per request): the
// owner that asked last is the one woken, and release() lets an owner go without touching the
// pending wait, which then wakes no one (or the next owner, who finds nothing due and asks
// again). So a keep-alive connection's requests need not arm, cancel or make a timer each.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <memory>
#include <optional>

namespace llmgw {

class LazyTimer {
public:
    using Clock = std::chrono::steady_clock;

    explicit LazyTimer(boost::asio::io_context& io) : timer_(io) {}
    LazyTimer(const LazyTimer&) = delete;
    LazyTimer& operator=(const LazyTimer&) = delete;

    // (owner->*OnWake)() runs at `at` or sooner, unless cancel() or release() comes first or
    // the owner is gone. The owner is the one woken from now on. The timer must outlive the
    // owner's use of it (an owner holds it, or holds its holder).
    template <auto OnWake, class Owner>
    void wake_by(Clock::time_point at, Owner* owner, std::weak_ptr<Owner> alive) {
        owner_ = owner;
        alive_ = std::move(alive);
        wake_ = [](void* o) { (static_cast<Owner*>(o)->*OnWake)(); };
        if (at_ && *at_ <= at) return;
        arm(at);
    }

    // `owner` is done with the timer; the pending wait, if any, stays and wakes no one.
    void release(const void* owner) {
        if (owner_ != owner) return;  // another owner has it now
        owner_ = nullptr;
        alive_.reset();
    }

    // Ends the pending wait too: nothing is left for the event loop to wait on.
    void cancel() {
        owner_ = nullptr;
        alive_.reset();
        if (at_) timer_.cancel();
        at_.reset();
    }

private:
    void arm(Clock::time_point at) {
        at_ = at;
        timer_.expires_at(at);  // an earlier wait ends with operation_aborted
        timer_.async_wait([this](const boost::system::error_code& ec) {
            if (ec) return;  // re-armed, cancelled, or the timer is gone: `this` is not touched
            at_.reset();
            const std::shared_ptr<void> alive = alive_.lock();
            if (alive && owner_ != nullptr) wake_(owner_);
        });
    }

    boost::asio::steady_timer timer_;
    std::optional<Clock::time_point> at_;  // when the pending wait ends
    void* owner_ = nullptr;                // woken by wake_, while alive_ says it lives
    std::weak_ptr<void> alive_;
    void (*wake_)(void* owner) = nullptr;
};

}  // namespace llmgw
