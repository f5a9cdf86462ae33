// One proxied request upstream: the attempt loop with retries and backoff (SPEC §4), the
// timeouts of the request's lane (SPEC §3) and the response size limit (SPEC §6). The
// response is handed to an ExchangeSink as it arrives; the sink pushes back by refusing a
// chunk, and the exchange pauses the transfer until resume(). Serve and call share it.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "upstream/attempt.hpp"
#include "upstream/loop_clients.hpp"
#include "upstream/request.hpp"
#include "util/gateway_error.hpp"
#include "util/lazy_timer.hpp"
#include "util/request_policy.hpp"

namespace llmgw::upstream {

struct ExchangeOutcome {
    std::optional<GatewayError> error;  // none: the response ended cleanly
    bool head_delivered = false;        // on_head was called (bytes may have reached the client)
    int attempts = 0;
    double ttfb_ms = 0;                 // from start to the delivered head
    std::uint64_t body_bytes = 0;       // delivered to the sink
    bool retried_error = false;         // the error came after at least one retry
};

class ExchangeSink {
public:
    virtual ~ExchangeSink() = default;
    virtual void on_head(const ResponseHead& head) = 0;
    // False: the sink cannot take this chunk now. It is offered again after resume().
    virtual bool on_body(std::string_view chunk) = 0;
    virtual void on_end(const ExchangeOutcome& outcome) = 0;
    // True: what on_head and on_body give may wait, to go out in one write with what follows
    // (the pieces of one read of the upstream), until hold_writes(false) or on_end. False:
    // write what waits.
    virtual void hold_writes(bool hold) { (void)hold; }
    // The body is about to pass its size limit; `allowed` is the rest of the chunk that is
    // still within it. Takes the first of those bytes, so what was relayed ends where a
    // reader can tell it was cut (an event stream at an event's end), whatever already waits
    // to go out (they are less than one read); returns how many.
    virtual std::size_t take_at_limit(std::string_view allowed) {
        (void)allowed;
        return 0;
    }
    // As each attempt starts (1, 2, ...), with the client that carries it ("http/1.1": the
    // native one, "libcurl"); for logging.
    virtual void on_attempt(int attempt, std::string_view client) {
        (void)attempt;
        (void)client;
    }
    // Before a retry waits `delay_ms`; for logging.
    virtual void on_retry(int next_attempt, std::string_view why, std::int64_t delay_ms) {
        (void)next_attempt;
        (void)why;
        (void)delay_ms;
    }
};

class Exchange : public std::enable_shared_from_this<Exchange>, private AttemptOwner {
public:
    // `timer`: one to use and pass on to the next exchange (a connection's), or none to make
    // one of its own.
    static std::shared_ptr<Exchange> start(LoopClients& clients, UpstreamRequest request,
                                           const RequestPolicy& policy, ExchangeSink& sink,
                                           std::shared_ptr<LazyTimer> timer = nullptr);
    ~Exchange();

    // The sink can take data again.
    void resume();
    // Stops at once (the client went away). The sink hears nothing more.
    void cancel();
    // What has happened so far (attempts, time to headers), for a log line after cancel().
    const ExchangeOutcome& progress() const { return outcome_; }

    Exchange(LoopClients& clients, UpstreamRequest request, const RequestPolicy& policy,
             ExchangeSink& sink, std::shared_ptr<LazyTimer> timer);  // use start()

private:
    using Clock = std::chrono::steady_clock;

    bool on_attempt_head(const ResponseHead& head) override;
    Take on_attempt_body(std::string_view chunk) override;
    void on_attempt_end(std::optional<GatewayError> transport_error) override;
    void on_attempt_batch(bool open) override;

    void launch_attempt();
    void attempt_ended(std::optional<GatewayError> error);
    bool retry_allowed(std::int64_t delay_ms) const;
    void schedule_retry(const std::string& why, std::int64_t delay_ms);
    enum class Deadline { headers, total };
    std::string deadline_message(Deadline which) const;
    void wake_at(Clock::time_point at) {
        timer_->wake_by<&Exchange::on_timer>(at, this, weak_from_this());
    }
    Clock::time_point idle_due() const;  // the last byte plus the idle timeout
    void wake_for_idle();
    void on_timer();
    void abort_attempt(GatewayError error);
    void finish(std::optional<GatewayError> error);
    void drop_attempt();
    void stop_timers();

    LoopClients& clients_;
    UpstreamRequest request_;
    std::optional<H1Target> native_;  // set when the native HTTP/1.1 client carries it
    RequestPolicy policy_;
    ExchangeSink* sink_;
    std::shared_ptr<Attempt> attempt_;
    // One timer for the headers, total and idle deadlines: on waking it checks them all and
    // sleeps until the next. Lent by the client's connection (which passes it on from one
    // exchange to the next) or made here.
    bool own_timer_;
    std::shared_ptr<LazyTimer> timer_;
    // Made when a retry first needs it: making a timer takes the service registry's lock.
    std::optional<boost::asio::steady_timer> backoff_timer_;

    Clock::time_point started_;
    Clock::time_point headers_deadline_;           // the lane's deadline for every attempt
    std::optional<Clock::time_point> total_deadline_;  // background: the whole exchange
    Clock::time_point last_activity_;
    std::optional<GatewayError> pending_error_;  // why we aborted the running attempt
    std::optional<std::string> retry_reason_;    // a retryable status was seen
    std::int64_t retry_delay_ms_ = 0;
    ExchangeOutcome outcome_;
    int retries_done_ = 0;
    bool paused_ = false;
    bool finished_ = false;
    bool holding_writes_ = false;  // the sink was told hold_writes(true), not yet false
};

}  // namespace llmgw::upstream
