#include "upstream/exchange.hpp"

#include <string>
#include <vector>

#include "upstream/retry.hpp"
#include "util/held_clock.hpp"

namespace llmgw::upstream {

namespace {

using std::chrono::milliseconds;

double ms_between(std::chrono::steady_clock::time_point a, std::chrono::steady_clock::time_point b) {
    return std::chrono::duration<double, std::milli>(b - a).count();
}

}  // namespace

std::shared_ptr<Exchange> Exchange::start(LoopClients& clients, UpstreamRequest request,
                                          const RequestPolicy& policy, ExchangeSink& sink,
                                          std::shared_ptr<LazyTimer> timer) {
    auto exchange =
        std::make_shared<Exchange>(clients, std::move(request), policy, sink, std::move(timer));
    exchange->launch_attempt();
    return exchange;
}

Exchange::Exchange(LoopClients& clients, UpstreamRequest request, const RequestPolicy& policy,
                   ExchangeSink& sink, std::shared_ptr<LazyTimer> timer)
    : clients_(clients),
      request_(std::move(request)),
      native_(native_target(clients, request_.url)),
      policy_(policy),
      sink_(&sink),
      own_timer_(timer == nullptr),
      timer_(own_timer_ ? std::make_shared<LazyTimer>(clients.io) : std::move(timer)),
      started_(steady_now()) {
    headers_deadline_ = started_ + milliseconds(policy_.head_budget_ms());
    if (policy_.total_timeout_ms > 0) total_deadline_ = started_ + milliseconds(policy_.total_timeout_ms);
}

Exchange::~Exchange() { cancel(); }

void Exchange::cancel() {
    sink_ = nullptr;
    finished_ = true;
    stop_timers();
    drop_attempt();
}

void Exchange::stop_timers() {
    // A lent timer's pending wait stays for the next exchange; one of our own would keep the
    // event loop waiting (`llmgw call` returns when the loop has nothing left).
    if (own_timer_) {
        timer_->cancel();
    } else {
        timer_->release(this);
    }
    if (backoff_timer_) backoff_timer_->cancel();
}

void Exchange::resume() {
    if (!paused_ || !attempt_) return;
    paused_ = false;
    last_activity_ = steady_now();
    wake_for_idle();
    attempt_->resume();
}

void Exchange::launch_attempt() {
    ++outcome_.attempts;
    pending_error_.reset();
    retry_reason_.reset();
    attempt_ = make_attempt(clients_, native_, request_, *this);
    if (sink_) sink_->on_attempt(outcome_.attempts, native_ ? "http/1.1" : "libcurl");
    wake_at(headers_deadline_);
    attempt_->start();
}

bool Exchange::on_attempt_head(const ResponseHead& head) {
    if (finished_) return false;
    // Only 429 and 5xx are ever retried: a success's fields are not even looked at.
    if (head.status == 429 || head.status >= 500) {
        const std::int64_t max_after = policy_.retry.max_retry_after_ms;
        const RetryHints hints = retry_hints(head.headers, std::chrono::system_clock::now());
        if (!hints.refused && is_retryable_status(head.status, hints.retry_after_ms, max_after)) {
            const std::int64_t delay =
                next_delay_ms(retries_done_ + 1, hints.retry_after_ms, max_after);
            if (retry_allowed(delay)) {
                retry_reason_ = "upstream answered " + std::to_string(head.status);
                retry_delay_ms_ = delay;
                return false;  // stop this attempt; on_attempt_end() schedules the next
            }
        }
    }
    const std::uint64_t limit = policy_.max_response_bytes;
    // HEAD, 204 and 304 answers announce a length they never send.
    const bool bodiless = request_.method == "HEAD" || head.status == 204 || head.status == 304;
    if (limit > 0 && !bodiless && head.content_length && *head.content_length > limit) {
        pending_error_ = GatewayError{
            ErrorType::size_limit, "upstream response of " + std::to_string(*head.content_length) +
                                       " bytes exceeds the limit of " + std::to_string(limit) +
                                       " bytes"};
        return false;
    }
    // From here the total and idle deadlines count. The timer is armed for the headers deadline
    // (the total one when there is one); it is moved only when the idle one comes first.
    outcome_.head_delivered = true;
    last_activity_ = steady_now();
    outcome_.ttfb_ms = ms_between(started_, last_activity_);
    wake_for_idle();
    if (sink_) sink_->on_head(head);
    return true;
}

AttemptOwner::Take Exchange::on_attempt_body(std::string_view chunk) {
    if (finished_ || !sink_ || pending_error_) return Take::stop;
    const std::uint64_t limit = policy_.max_response_bytes;
    if (limit > 0 && outcome_.body_bytes + chunk.size() > limit) {
        const std::string_view allowed = chunk.substr(0, limit - outcome_.body_bytes);
        outcome_.body_bytes += std::min(sink_->take_at_limit(allowed), allowed.size());
        pending_error_ = GatewayError{ErrorType::size_limit, "upstream response passed the limit of " +
                                                                 std::to_string(limit) + " bytes"};
        return Take::stop;
    }
    if (!sink_->on_body(chunk)) {
        paused_ = true;
        return Take::paused;
    }
    outcome_.body_bytes += chunk.size();
    last_activity_ = steady_now();
    return Take::taken;
}

void Exchange::on_attempt_batch(bool open) {
    if (open == holding_writes_ || finished_ || !sink_) return;
    holding_writes_ = open;
    sink_->hold_writes(open);
}

void Exchange::on_attempt_end(std::optional<GatewayError> transport_error) {
    auto self = shared_from_this();
    drop_attempt();
    if (retry_reason_) {
        schedule_retry(*retry_reason_, retry_delay_ms_);
        return;
    }
    attempt_ended(pending_error_ ? pending_error_ : std::move(transport_error));
}

bool Exchange::retry_allowed(std::int64_t delay_ms) const {
    if (!policy_.retry.enabled || retries_done_ >= policy_.retry.max_retries) return false;
    return Clock::now() + milliseconds(delay_ms) < headers_deadline_;
}

void Exchange::attempt_ended(std::optional<GatewayError> error) {
    if (error && !outcome_.head_delivered && !error->retry_cannot_help &&
        is_retryable(error->type)) {
        const std::int64_t delay = backoff_delay_ms(retries_done_ + 1);
        if (retry_allowed(delay)) {
            schedule_retry(std::string(to_string(error->type)) + ": " + error->message, delay);
            return;
        }
    }
    finish(std::move(error));
}

void Exchange::schedule_retry(const std::string& why, std::int64_t delay_ms) {
    // An attempt that ended inside a batch did not close it: a retry must not start held
    // (on_end writes everything anyway).
    on_attempt_batch(false);
    ++retries_done_;  // the timer, if it wakes meanwhile, finds no attempt and sleeps
    if (sink_) sink_->on_retry(outcome_.attempts + 1, why, delay_ms);
    if (!backoff_timer_) backoff_timer_.emplace(clients_.io);
    backoff_timer_->expires_after(milliseconds(delay_ms));
    backoff_timer_->async_wait([weak = weak_from_this()](const boost::system::error_code& ec) {
        auto self = weak.lock();
        if (ec || !self || self->finished_) return;
        self->launch_attempt();
    });
}

Exchange::Clock::time_point Exchange::idle_due() const {
    return last_activity_ + milliseconds(policy_.idle_timeout_ms);
}

void Exchange::wake_for_idle() {
    if (policy_.idle_timeout_ms > 0) wake_at(idle_due());
}

void Exchange::on_timer() {
    if (finished_ || !attempt_) return;  // a retry's backoff: the next attempt re-arms
    const auto now = Clock::now();
    if (!outcome_.head_delivered) {
        if (now >= headers_deadline_) {
            abort_attempt(GatewayError{ErrorType::timeout, deadline_message(Deadline::headers)});
            return;
        }
        wake_at(headers_deadline_);
        return;
    }
    if (total_deadline_ && now >= *total_deadline_) {
        abort_attempt(GatewayError{ErrorType::timeout, deadline_message(Deadline::total)});
        return;
    }
    std::optional<Clock::time_point> next = total_deadline_;
    // A paused stream waits for its client, not its upstream: resume() counts again from then.
    if (policy_.idle_timeout_ms > 0 && !paused_) {
        if (now >= idle_due()) {
            abort_attempt(GatewayError{ErrorType::timeout, "upstream sent nothing for " +
                                                               std::to_string(policy_.idle_timeout_ms) + " ms"});
            return;
        }
        next = next ? std::min(*next, idle_due()) : idle_due();
    }
    if (next) wake_at(*next);
}

// Written when a deadline passes, never per request.
std::string Exchange::deadline_message(Deadline which) const {
    if (which == Deadline::total) {
        return "upstream exchange exceeded its total time of " +
               std::to_string(policy_.total_timeout_ms) + " ms";
    }
    const std::int64_t budget = policy_.head_budget_ms();
    if (const std::string name = attempt_ ? attempt_->looking_up() : std::string(); !name.empty()) {
        return "upstream host name " + name + " was not resolved within " + std::to_string(budget) +
               " ms";
    }
    return "upstream sent no response headers within " + std::to_string(budget) + " ms";
}

void Exchange::abort_attempt(GatewayError error) {
    if (!attempt_) return;
    auto self = shared_from_this();
    drop_attempt();
    attempt_ended(std::move(error));
}

void Exchange::finish(std::optional<GatewayError> error) {
    if (finished_) return;
    finished_ = true;
    stop_timers();
    outcome_.error = std::move(error);
    outcome_.retried_error = outcome_.error.has_value() && retries_done_ > 0;
    ExchangeSink* sink = sink_;
    sink_ = nullptr;
    auto self = shared_from_this();
    if (sink) sink->on_end(outcome_);
}

void Exchange::drop_attempt() {
    if (!attempt_) return;
    const auto attempt = std::move(attempt_);
    attempt->cancel();
}

}  // namespace llmgw::upstream
