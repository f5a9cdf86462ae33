// LazyTimer: one timer for deadlines that keep moving, lent to one owner after another.
#include <doctest/doctest.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <chrono>
#include <memory>

#include "util/lazy_timer.hpp"

using llmgw::LazyTimer;
using namespace std::chrono_literals;

namespace {

struct Owner : std::enable_shared_from_this<Owner> {
    int wakes = 0;
    void on_wake() { ++wakes; }
    void ask(LazyTimer& timer, LazyTimer::Clock::duration in) {
        timer.wake_by<&Owner::on_wake>(LazyTimer::Clock::now() + in, this, weak_from_this());
    }
};

// Runs the loop until it has nothing left (bounded); returns how long that took.
LazyTimer::Clock::duration run(boost::asio::io_context& io) {
    const auto start = LazyTimer::Clock::now();
    io.run_for(5s);
    io.restart();
    return LazyTimer::Clock::now() - start;
}

struct HandOver {
    int first_wakes;
    int second_wakes;
    LazyTimer::Clock::duration took;
};

// A first owner asks for a time and lets the timer go; a second asks for another. The loop runs.
HandOver hand_over(LazyTimer::Clock::duration first_in, LazyTimer::Clock::duration second_in) {
    boost::asio::io_context io;
    LazyTimer timer(io);
    auto first = std::make_shared<Owner>();
    auto second = std::make_shared<Owner>();
    const auto start = LazyTimer::Clock::now();  // before either ask: no wake can come sooner
    first->ask(timer, first_in);
    timer.release(first.get());
    second->ask(timer, second_in);
    run(io);
    return {first->wakes, second->wakes, LazyTimer::Clock::now() - start};
}

}  // namespace

TEST_SUITE("util.lazy_timer") {
    TEST_CASE("an owner that asks for an earlier time than the pending wait is woken then") {
        const HandOver r = hand_over(10s, 50ms);  // the first: the wait a finished request left
        CHECK(r.took >= 50ms);                    // not before it either
        CHECK(r.took < 2s);
        CHECK(r.second_wakes == 1);
        CHECK(r.first_wakes == 0);
    }

    TEST_CASE("a later time costs nothing: the pending wait wakes the owner early; it asks again") {
        const HandOver r = hand_over(30ms, 10s);  // later than the pending wait: not re-armed
        CHECK(r.took >= 30ms);
        CHECK(r.took < 2s);
        CHECK(r.second_wakes == 1);
        CHECK(r.first_wakes == 0);
    }

    TEST_CASE("a released timer wakes no one, and release by a former owner changes nothing") {
        boost::asio::io_context io;
        LazyTimer timer(io);
        auto first = std::make_shared<Owner>();
        auto second = std::make_shared<Owner>();
        first->ask(timer, 20ms);
        second->ask(timer, 20ms);
        timer.release(first.get());  // no longer the owner: second stays
        CHECK(run(io) < 2s);
        CHECK(second->wakes == 1);
        CHECK(first->wakes == 0);

        second->ask(timer, 20ms);
        timer.release(second.get());
        CHECK(run(io) < 2s);
        CHECK(second->wakes == 1);
    }

    TEST_CASE("an owner that is gone is not woken; cancel leaves the loop nothing to wait for") {
        boost::asio::io_context io;
        LazyTimer timer(io);
        auto gone = std::make_shared<Owner>();
        gone->ask(timer, 20ms);
        gone.reset();
        CHECK(run(io) < 2s);

        auto owner = std::make_shared<Owner>();
        owner->ask(timer, 10s);
        timer.cancel();
        CHECK(run(io) < 1s);  // a wait left pending would hold the loop for 10 s
        CHECK(owner->wakes == 0);
    }

    TEST_CASE("a wait that expired before its timer went wakes no one and touches nothing") {
        boost::asio::io_context io;
        auto timer = std::make_unique<LazyTimer>(io);
        auto owner = std::make_shared<Owner>();
        owner->ask(*timer, -1ms);  // already due: queued on the loop's first pass
        // Runs after that pass has queued the wait's handler with success, as when a session
        // closes and goes in the same turn as its deadline; the handler then runs (ASan: no
        // use of the freed timer).
        boost::asio::post(io, [&] { timer.reset(); });
        run(io);
        CHECK(timer == nullptr);
        CHECK(owner->wakes == 0);
    }
}
