// Busy polling: after a loop's thread has run handlers, it keeps polling for more for a short
// while before it sleeps in epoll_wait. A sleeping CPU of a virtual machine takes 30-100 us to
// wake (the host must schedule it again), which a request that is answered in 50 us pays twice.
// The window adapts as KVM's halt polling does: a sleep that ended within the longest window
// doubles it (a poll would have caught that wake-up), a longer one sets it to zero. So a loop
// with back-to-back work polls, and one whose work comes tens of milliseconds apart (streamed
// events, idle keep-alive connections) sleeps at once and costs nothing. Each poll that finds
// nothing yields the CPU, so a thread waiting for a client or an upstream on the same core lets
// them run first.
#pragma once

#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <chrono>

namespace llmgw::server {

class BusyPollWindow {
  public:
    using Duration = std::chrono::nanoseconds;
    static constexpr Duration kFirst{10'000};  // the window after its first short sleep

    explicit BusyPollWindow(Duration longest) : longest_(longest) {}

    Duration window() const { return window_; }

    // The thread slept `slept` (its poll of window() found nothing).
    void after_sleep(Duration slept) {
        window_ =
            slept <= longest_ ? std::min(longest_, std::max(window_ * 2, kFirst)) : Duration{0};
    }

  private:
    Duration longest_;
    Duration window_{0};
};

// Runs `io` until it is stopped, polling up to `longest` before each sleep (as above); with
// `longest` zero, io.run() as it is.
void run_busy_polling(boost::asio::io_context& io, BusyPollWindow::Duration longest);

}  // namespace llmgw::server
