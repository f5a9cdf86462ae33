// HeldClock / steady_now: one reading per handler, nested handlers restore the outer reading,
// and outside any handler the clock is read each time.
#include <doctest/doctest.h>

#include <chrono>
#include <thread>

#include "util/held_clock.hpp"

using llmgw::HeldClock;
using llmgw::steady_now;

namespace {
void pass_time() {  // the steady clock advances by at least this much
    const auto from = std::chrono::steady_clock::now();
    while (std::chrono::steady_clock::now() - from < std::chrono::microseconds(200)) {
        std::this_thread::yield();
    }
}
}  // namespace

TEST_SUITE("util.held_clock") {
    TEST_CASE("held inside a handler, nested readings restored, read each time outside") {
        const auto before = steady_now();
        pass_time();
        CHECK(steady_now() > before);  // not held: the clock itself
        {
            const HeldClock outer;
            const auto held = steady_now();
            CHECK(held > before);
            pass_time();
            CHECK(steady_now() == held);  // the same reading all through the handler
            {
                const HeldClock inner;
                CHECK(steady_now() > held);  // a handler run from inside reads again
            }
            CHECK(steady_now() == held);  // and the outer handler's reading is back
        }
        const auto after = steady_now();
        pass_time();
        CHECK(steady_now() > after);  // released: read each time again
    }

    TEST_CASE("each thread holds its own reading") {
        const HeldClock here;
        const auto held = steady_now();
        pass_time();
        llmgw::SteadyTime there{};
        std::thread([&] { there = steady_now(); }).join();
        CHECK(there > held);  // the other thread holds nothing: it read the clock
        CHECK(steady_now() == held);
    }
}
