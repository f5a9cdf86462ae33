#include "server/busy_poll.hpp"

#include <sched.h>

namespace llmgw::server {

void run_busy_polling(boost::asio::io_context& io, BusyPollWindow::Duration longest) {
    if (longest <= BusyPollWindow::Duration{0}) {
        io.run();
        return;
    }
    using clock = std::chrono::steady_clock;
    BusyPollWindow window(longest);
    while (!io.stopped()) {
        // What is ready, and what becomes ready within the window.
        auto idle_since = clock::now();
        for (;;) {
            if (io.poll() > 0) {
                idle_since = clock::now();
                continue;
            }
            if (io.stopped()) return;
            if (clock::now() - idle_since >= window.window()) break;
            sched_yield();
        }
        if (io.run_one() == 0) return;  // stopped
        window.after_idle(clock::now() - idle_since);
    }
}

}  // namespace llmgw::server
