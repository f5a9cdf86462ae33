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
#include <cstdint>
#include <memory>
#include <optional>

namespace llmgw {

class LazyTimer {
public:
    using Clock = std::chrono::steady_clock;

    explicit LazyTimer(boost::asio::io_context& io)
        : timer_(io), state_(std::make_shared<State>()) {}
    LazyTimer(const LazyTimer&) = delete;
    LazyTimer& operator=(const LazyTimer&) = delete;

    // (owner->*OnWake)() runs at `at` or sooner, unless cancel() or release() comes first or
    // the owner is gone. The owner is the one woken from now on.
    template <auto OnWake, class Owner>
    void wake_by(Clock::time_point at, Owner* owner, std::weak_ptr<Owner> alive) {
        State& s = *state_;
        s.owner = owner;
        s.alive = std::move(alive);
        s.wake = [](void* o) { (static_cast<Owner*>(o)->*OnWake)(); };
        if (s.at && *s.at <= at) return;
        arm(at);
    }

    // `owner` is done with the timer; the pending wait, if any, stays and wakes no one.
    void release(const void* owner) {
        State& s = *state_;
        if (s.owner != owner) return;  // another owner has it now
        s.owner = nullptr;
        s.alive.reset();
    }

    // Ends the pending wait too: nothing is left for the event loop to wait on.
    void cancel() {
        State& s = *state_;
        s.owner = nullptr;
        s.alive.reset();
        s.at.reset();
        ++s.arms;  // a wait that already expired, its handler queued, wakes no one
        timer_.cancel();
    }

private:
    // Apart from the Asio timer, so that a wait whose handler was already queued when the timer
    // went (its owner closed in the same turn: Asio then reports success, not an abort) finds
    // it gone rather than touching freed memory.
    struct State {
        std::optional<Clock::time_point> at;  // when the pending wait ends
        std::uint64_t arms = 0;               // which wait is the pending one
        void* owner = nullptr;                // woken by `wake`, while `alive` says it lives
        std::weak_ptr<void> alive;
        void (*wake)(void* owner) = nullptr;
    };

    void arm(Clock::time_point at) {
        // Marked pending only once the wait is made: should making it throw, the next wake_by
        // arms again rather than trusting a wait that is not there.
        state_->at.reset();
        const std::uint64_t arm = ++state_->arms;
        timer_.expires_at(at);  // an earlier wait ends with operation_aborted
        timer_.async_wait(
            [state = std::weak_ptr<State>(state_), arm](const boost::system::error_code& ec) {
                if (ec) return;
                const std::shared_ptr<State> s = state.lock();
                if (!s || s->arms != arm) return;  // the timer is gone, or a later wait replaced it
                s->at.reset();
                const std::shared_ptr<void> alive = s->alive.lock();
                if (alive && s->owner != nullptr) s->wake(s->owner);
            });
        state_->at = at;
    }

    boost::asio::steady_timer timer_;
    std::shared_ptr<State> state_;
};

}  // namespace llmgw
