// Busy polling: after a loop's thread has run handlers, it keeps polling for more for a short
// while before it sleeps in epoll_wait. A sleeping CPU of a virtual machine takes tens of
// microseconds to wake (the host must schedule it again), which a request that is answered in
// 50 us pays twice. The window adapts as KVM's halt polling does: when the loop's idle spell
// (its poll, then its sleep) ended within the longest window, the window doubles (a longer poll
// would have caught that work); when it lasted longer, the window goes to zero. So a loop with
// back-to-back work polls, and one whose work comes milliseconds apart (streamed events, idle
// keep-alive connections) sleeps at once and costs nothing. Each poll that finds nothing
// yields the CPU, so a client or an upstream waiting for the same core runs first.
#pragma once

#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <chrono>

namespace llmgw::server {

class BusyPollWindow {
  public:
    using Duration = std::chrono::nanoseconds;
    static constexpr Duration kFirst{10'000};  // the window after its first short idle spell

    explicit BusyPollWindow(Duration longest) : longest_(longest) {}

    Duration window() const { return window_; }

    // The loop found nothing to do for `idle`: its poll of window(), then its sleep.
    void after_idle(Duration idle) {
        window_ =
            idle <= longest_ ? std::min(longest_, std::max(window_ * 2, kFirst)) : Duration{0};
    }

  private:
    Duration longest_;
    Duration window_{0};
};

// Runs `io` until it is stopped, polling up to `longest` before each sleep (as above); with
// `longest` zero, io.run() as it is.
void run_busy_polling(boost::asio::io_context& io, BusyPollWindow::Duration longest);

}  // namespace llmgw::server
