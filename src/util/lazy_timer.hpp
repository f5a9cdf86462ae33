// A timer for the earliest of deadlines that keep moving. Asking to wake later than the pending
// wait costs nothing: it wakes first and its owner, finding nothing due yet, asks again. Only
// an earlier wake-up re-arms it. Each arm and cancel takes the reactor's lock and a heap
// operation, and most deadlines only move later, so a request usually arms it once or never.
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

    // (owner->*on_wake)() runs at `at` or sooner, unless cancel() comes first or the owner is
    // gone. The owner holds this timer, so a live owner means a live timer.
    template <class Owner>
    void wake_by(Clock::time_point at, std::weak_ptr<Owner> owner, void (Owner::*on_wake)()) {
        if (at_ && *at_ <= at) return;
        at_ = at;
        timer_.expires_at(at);  // an earlier wait ends with operation_aborted
        timer_.async_wait([this, owner = std::move(owner), on_wake](const boost::system::error_code& ec) {
            if (ec) return;
            const auto self = owner.lock();
            if (!self) return;
            at_.reset();
            ((*self).*on_wake)();
        });
    }

    void cancel() {
        if (at_) timer_.cancel();
        at_.reset();
    }

private:
    boost::asio::steady_timer timer_;
    std::optional<Clock::time_point> at_;  // when the pending wait ends
};

}  // namespace llmgw
