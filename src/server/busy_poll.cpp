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
        // What is ready, and what becomes ready within the window. The clock is read only by
        // polls that find nothing: a busy loop's polls all find something.
        bool worked = true;
        clock::time_point idle_since;
        for (;;) {
            if (io.poll() > 0) {
                worked = true;
                continue;
            }
            if (io.stopped()) return;
            const auto now = clock::now();
            if (worked) {
                idle_since = now;
                worked = false;
            }
            if (now - idle_since >= window.window()) break;
            sched_yield();
        }
        if (io.run_one() == 0) return;  // stopped
        window.after_idle(clock::now() - idle_since);
    }
}

}  // namespace llmgw::server
