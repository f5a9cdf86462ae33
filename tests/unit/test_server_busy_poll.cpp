#include <doctest/doctest.h>

#include <atomic>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <thread>

#include "server/busy_poll.hpp"

using namespace std::chrono_literals;
using llmgw::server::BusyPollWindow;

TEST_CASE("server.busy_poll: the window doubles after short idle spells, up to the longest") {
    BusyPollWindow w(50us);
    CHECK(w.window() == 0ns);  // no poll until an idle spell shows the work comes back quickly
    w.after_idle(30us);
    CHECK(w.window() == BusyPollWindow::kFirst);
    w.after_idle(50us);  // the longest window itself still counts as short
    CHECK(w.window() == 20us);
    w.after_idle(1us);
    CHECK(w.window() == 40us);
    w.after_idle(1us);
    CHECK(w.window() == 50us);
    w.after_idle(1us);
    CHECK(w.window() == 50us);
}

TEST_CASE("server.busy_poll: an idle spell longer than the longest window ends polling") {
    BusyPollWindow w(50us);
    w.after_idle(1us);
    w.after_idle(1us);
    REQUIRE(w.window() == 20us);
    w.after_idle(51us);
    CHECK(w.window() == 0ns);
    w.after_idle(20ms);
    CHECK(w.window() == 0ns);
}

TEST_CASE("server.busy_poll: a longest window below the first step is kept") {
    BusyPollWindow w(3us);
    w.after_idle(2us);
    CHECK(w.window() == 3us);
}

TEST_CASE("server.busy_poll: runs every handler, then returns when the context is stopped") {
    for (const auto longest : {0us, 50us}) {
        CAPTURE(longest.count());
        boost::asio::io_context io;
        auto guard = boost::asio::make_work_guard(io);
        std::atomic<int> ran{0};
        // Handlers that come back-to-back (polled) and after a wait (slept), from the loop
        // itself and from another thread; then a stop from another thread ends the run.
        boost::asio::steady_timer timer(io);
        for (int i = 0; i < 100; ++i) boost::asio::post(io, [&ran] { ++ran; });
        timer.expires_after(5ms);
        timer.async_wait([&ran](const boost::system::error_code&) { ++ran; });
        std::thread other([&io, &ran] {
            std::this_thread::sleep_for(20ms);
            boost::asio::post(io, [&ran] { ++ran; });
            while (ran.load() < 102) std::this_thread::sleep_for(1ms);
            std::this_thread::sleep_for(20ms);  // the loop asleep again: a stop wakes it
            io.stop();
        });
        llmgw::server::run_busy_polling(io, longest);
        other.join();
        CHECK(ran == 102);
        CHECK(io.stopped());
    }
}

TEST_CASE("server.busy_poll: returns when the context runs out of work") {
    boost::asio::io_context io;
    int ran = 0;
    boost::asio::post(io, [&ran] { ++ran; });
    llmgw::server::run_busy_polling(io, 50us);
    CHECK(ran == 1);
}
