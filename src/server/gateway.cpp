#include "server/gateway.hpp"

#include <sched.h>

#include <algorithm>
#include <atomic>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <memory>
#include <optional>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include "config/rules.hpp"
#include "server/busy_poll.hpp"
#include "server/descriptor_table.hpp"
#include "server/listener.hpp"
#include "server/loop.hpp"
#include "server/session.hpp"
#include "util/log.hpp"
#include "util/strings.hpp"

namespace llmgw::server {

namespace asio = boost::asio;

namespace {

// One per core this process may run on: under taskset or a container's cpuset, the cores of
// its affinity mask, not the machine's (more threads than cores only take turns).
int thread_count(const config::Config& config) {
    if (config.gateway.threads > 0) return config.gateway.threads;
#ifdef __linux__
    cpu_set_t allowed;
    CPU_ZERO(&allowed);
    if (::sched_getaffinity(0, sizeof allowed, &allowed) == 0 && CPU_COUNT(&allowed) > 0) {
        return std::min(CPU_COUNT(&allowed), config::kMaxThreads);
    }
#endif
    const unsigned cores = std::thread::hardware_concurrency();
    return cores == 0 ? 1 : static_cast<int>(std::min<unsigned>(cores, config::kMaxThreads));
}

class Gateway {
public:
    Gateway(const config::Config& config, GatewayHooks hooks) : hooks_(hooks) {
        shared_.config = &config;
        shared_.handler.config = &config;
        shared_.handler.started = std::chrono::steady_clock::now();
        shared_.background = std::make_unique<LaneGate>(config.gateway.background_slots,
                                                        config.gateway.background_queue_max);
        const int n = thread_count(config);
        for (int i = 0; i < n; ++i) loops_.push_back(std::make_unique<Loop>(shared_));
        signals_.emplace(loops_[0]->io, SIGINT, SIGTERM);
        drain_timer_.emplace(loops_[0]->io);
    }

    int run() {
        const auto& g = shared_.config->gateway;
        auto listener = Listener::open(loops_, g.host, g.port);
        if (!listener) {
            log_line(
                LogLevel::error, "", "cannot listen",
                {log_str("address", str::bracketed_host(g.host) + ":" + std::to_string(g.port)),
                 log_str("reason", listener.error())});
            return 1;
        }
        listener_ = std::move(*listener);
        shared_.handler.address = listener_->address();  // before any loop runs
        // Before the loops' threads start: see descriptor_table.hpp.
        if (const int error = raise_open_files_limit(g.max_connections)) {
            log_line(LogLevel::debug, "", "open-files limit not raised",
                     {log_str("reason", std::strerror(error))});
        }
        const int descriptors = descriptors_to_reserve(g.max_connections);
        if (const int error = reserve_descriptor_table(listener_->native_handle(), descriptors)) {
            log_line(
                LogLevel::debug, "", "descriptor table not reserved",
                {log_num("descriptors", descriptors), log_str("reason", std::strerror(error))});
        }
        listener_->start();
        watch_signals();
        log_line(LogLevel::info, "", "llmgw listening",
                 {log_str("url", "http://" + listener_->address()),
                  log_num("threads", static_cast<long long>(loops_.size())),
                  log_num("services", static_cast<long long>(shared_.config->services.size())),
                  log_str("version", LLMGW_VERSION)});
        if (!listener_->is_loopback()) {
            log_line(LogLevel::warn, "", "listening on a non-loopback address: anyone who can reach "
                     "it can use this gateway and the API keys it is sent",
                     {log_str("address", listener_->address())});
        }
        if (hooks_.release_memory != nullptr) {
            for (auto& loop : loops_) {
                memory_timers_.push_back(std::make_unique<asio::steady_timer>(loop->io));
                release_memory_when_idle(*loop, *memory_timers_.back(), 0, 0);
            }
        }
        std::vector<std::thread> threads;
        try {
            for (std::size_t i = 1; i < loops_.size(); ++i) {
                threads.emplace_back([loop = loops_[i].get()] { run_loop(*loop); });
            }
        } catch (const std::system_error& e) {
            // ulimit -u or a cgroup's pids limit: status 1, not an abort with threads joinable.
            log_line(LogLevel::error, "", "cannot start an event-loop thread",
                     {log_num("threads", static_cast<long long>(loops_.size())),
                      log_str("reason", e.what())});
            for (auto& loop : loops_) loop->io.stop();
            for (auto& t : threads) t.join();
            return 1;
        }
        run_loop(*loops_[0]);
        for (auto& t : threads) t.join();
        log_line(LogLevel::info, "", "llmgw stopped");
        return 0;
    }

private:
    static void run_loop(Loop& loop) {
        auto guard = asio::make_work_guard(loop.io);
        try {
            run_busy_polling(loop.io,
                             std::chrono::microseconds(loop.shared.config->gateway.busy_poll_us));
        } catch (const std::exception& e) {
            // Out of memory in a handler, say: said, and status 1 as documented, not an abort.
            log_line(LogLevel::error, "", "internal error, exiting", {log_str("reason", e.what())});
            std::_Exit(1);
        }
    }

    // An allocator that frees lazily acts only when it is next called: a loop gone idle after a
    // burst would keep the burst's memory for good. So a loop that has had no request in
    // progress for kReleaseAfterIdle releases it, once per idle spell. Not sooner: a release
    // hands every free page back, and the next burst would fault them all in again (1,000
    // streams' time to first byte grew by a third when it ran every second).
    static constexpr int kReleaseAfterIdle = 10;  // seconds, counted by a one-second tick
    void release_memory_when_idle(Loop& loop, asio::steady_timer& timer, int idle_seconds,
                                  std::uint64_t requests_seen) {
        timer.expires_after(std::chrono::seconds(1));
        timer.async_wait([this, &loop, &timer, idle_seconds, requests_seen](const boost::system::error_code& ec) {
            if (ec) return;
            // Idle for the last second: nothing in progress now, and nothing began since the
            // last tick (a short burst between two ticks counts as activity too).
            const bool idle = loop.busy_sessions.load(std::memory_order_relaxed) == 0 &&
                              loop.requests_begun == requests_seen;
            const int now_idle = idle ? idle_seconds + 1 : 0;
            if (now_idle == kReleaseAfterIdle) hooks_.release_memory();
            release_memory_when_idle(loop, timer, now_idle, loop.requests_begun);
        });
    }

    void watch_signals() {
        signals_->async_wait([this](const boost::system::error_code& ec, int sig) {
            if (ec) return;
            if (shared_.draining.exchange(true)) {
                log_line(LogLevel::warn, "", "second signal: exiting now");
                std::_Exit(1);
            }
            log_line(LogLevel::info, "", "draining",
                     {log_num("signal", sig), log_num("in_flight", busy_sessions()),
                      log_num("drain_timeout_ms", shared_.config->gateway.drain_timeout_ms)});
            listener_->stop();
            drain_deadline_ = std::chrono::steady_clock::now() +
                              std::chrono::milliseconds(shared_.config->gateway.drain_timeout_ms);
            // The first count of what is in flight comes once every loop has drained its
            // sessions: one whose request has begun is counted from then on.
            auto loops_left = std::make_shared<std::atomic<std::size_t>>(loops_.size());
            for (auto& loop : loops_) {
                asio::post(loop->io, [this, l = loop.get(), loops_left] {
                    std::vector<Session*> sessions(l->sessions.begin(), l->sessions.end());
                    for (Session* s : sessions) s->drain();
                    if (loops_left->fetch_sub(1) == 1) {
                        asio::post(drain_timer_->get_executor(), [this] { poll_drain(); });
                    }
                });
            }
            watch_signals();  // a second signal exits at once
        });
    }

    long long busy_sessions() const {
        long long busy = 0;
        for (const auto& loop : loops_) busy += loop->busy_sessions.load(std::memory_order_relaxed);
        return busy;
    }

    void poll_drain() {
        if (busy_sessions() == 0 || std::chrono::steady_clock::now() >= drain_deadline_) {
            for (auto& loop : loops_) loop->io.stop();
            return;
        }
        drain_timer_->expires_after(std::chrono::milliseconds(20));
        drain_timer_->async_wait([this](const boost::system::error_code& ec) {
            if (!ec) poll_drain();
        });
    }

    GatewayHooks hooks_;
    SharedState shared_;
    std::vector<std::unique_ptr<Loop>> loops_;
    std::vector<std::unique_ptr<asio::steady_timer>> memory_timers_;  // one per loop, in its io
    std::unique_ptr<Listener> listener_;
    std::optional<asio::signal_set> signals_;
    std::optional<asio::steady_timer> drain_timer_;
    std::chrono::steady_clock::time_point drain_deadline_;
};

}  // namespace

int run_gateway(const config::Config& config, GatewayHooks hooks) {
    Gateway gateway(config, hooks);
    return gateway.run();
}

}  // namespace llmgw::server
