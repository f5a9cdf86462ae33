// The response half of a session: relaying the upstream's answer as it arrives, the bounded
// write queue, and how a response ends (complete, error reply, or cut).
#include <boost/asio/write.hpp>
#include <charconv>

#include "server/http_out.hpp"
#include "server/session.hpp"
#include "util/held_clock.hpp"
#include "util/http_date.hpp"
#include "util/log.hpp"
#include "util/send_now.hpp"
#include "util/strings.hpp"

namespace llmgw::server {

namespace asio = boost::asio;
using boost::system::error_code;

namespace {

// Above this many unsent bytes the upstream transfer pauses; below the low mark it resumes.
constexpr std::size_t kHighWater = 256 * 1024;
constexpr std::size_t kLowWater = 64 * 1024;
}  // namespace

void Session::add_connection_headers(HeadWriter& head, bool close_delimited) {
    if (loop_.shared.draining.load(std::memory_order_relaxed)) keep_alive_ = false;
    if (close_delimited) keep_alive_ = false;
    if (!keep_alive_) {
        close_after_ = true;
        head.add_own("Connection", "close");
        return;
    }
    if (http10_) head.add_own("Connection", "keep-alive");
    char value[32] = "timeout=";
    const char* end = std::to_chars(value + 8, value + sizeof value,
                                    config_.gateway.keepalive_timeout_ms / 1000).ptr;
    head.add_own("Keep-Alive", std::string_view(value, static_cast<std::size_t>(end - value)));
}

void Session::on_head(const upstream::ResponseHead& head) {
    if (phase_ == Phase::closed) return;
    status_ = head.status;
    head_from_ = out_pending_.size();  // after the rest of a 100 Continue the socket did not take
    sse_ = is_event_stream(head.headers);
    sse_plain_ = sse_ && !has_content_coding(head.headers);
    HeadWriter out(out_pending_, head.status);
    // Retried here already (this exchange's attempts, and a background lane's before a
    // fallback): an error answer tells SDKs not to retry it once more.
    const int attempts = outcome_.attempts + (exchange_ ? exchange_->progress().attempts : 1);
    const std::string_view upstream_id =
        proxied_response_headers(out, config_, headers_, head.headers, sse_,
                                 {.request_id = request_id_,
                                  .lane = lane_value_,
                                  .processing_ms = outcome_ttfb_now(),
                                  .fell_back = fell_back_,
                                  .retries_spent = attempts > 1 && head.status >= 400,
                                  .date = http_date_now()});
    if (!upstream_id.empty()) upstream_request_id_ = std::string(upstream_id);
    const bool bodiless = no_body_ || head.status == 204 || head.status == 304;
    bool close_delimited = false;
    if (head.content_length && head.status != 204) {
        out.add_decimal("Content-Length", *head.content_length);
    } else if (!bodiless) {
        if (http10_) {
            close_delimited = true;
            close_delimited_ = true;
        } else {
            out.add_own("Transfer-Encoding", "chunked");
            chunked_ = true;
        }
    }
    no_body_ = bodiless;
    add_connection_headers(out, close_delimited);
    out.finish();
    // An event stream's head goes out at once (time to first byte), with what came in the
    // same read; any other head rides with the first body bytes, one write instead of two.
    // on_end() always flushes.
    if (sse_ || no_body_) flush_unless_held();
}

void Session::hold_writes(bool hold) {
    holding_ = hold;
    if (!hold && flush_held_) {
        flush_held_ = false;
        flush();
    }
}

void Session::flush_unless_held() {
    if (holding_) {
        flush_held_ = true;
    } else {
        flush();
    }
}

// An event stream about to pass the size limit ends with the last whole event within it, so
// the error event can follow (nothing can follow half an event: see on_end).
std::size_t Session::take_at_limit(std::string_view allowed) {
    if (!sse_plain_ || no_body_ || phase_ == Phase::closed) return 0;
    // Past the high-water mark too: the error event follows them, and the attempt ends.
    const std::size_t take = sse_boundary_.through_last_event_end(allowed);
    if (take > 0) append_body(allowed.substr(0, take));
    return take;
}

double Session::outcome_ttfb_now() const {
    return std::chrono::duration<double, std::milli>(steady_now() - started_).count();
}

bool Session::on_body(std::string_view chunk) {
    if (phase_ == Phase::closed) return true;  // dropped: the exchange is being cancelled
    if (out_pending_.size() >= kHighWater) {
        paused_upstream_ = true;
        return false;
    }
    if (!no_body_) append_body(chunk);
    return true;
}

void Session::append_body(std::string_view chunk) {
    if (chunked_) {
        append_chunk(out_pending_, chunk);
    } else {
        out_pending_.append(chunk);
    }
    if (sse_plain_) sse_boundary_.relayed(chunk);
    flush_unless_held();
}

void Session::on_attempt(int attempt, std::string_view client) {
    if (!log_enabled(LogLevel::debug)) return;
    log_line(LogLevel::debug, request_id_, "upstream attempt",
             {log_num("attempt", attempt), log_str("client", std::string(client)),
              log_str("lane", std::string(lane_))});
}

void Session::on_retry(int next_attempt, std::string_view why, std::int64_t delay_ms) {
    log_line(LogLevel::warn, request_id_, "retrying upstream request",
             {log_num("attempt", next_attempt), log_num("delay_ms", delay_ms),
              log_str("reason", std::string(why))});
}

void Session::on_end(const upstream::ExchangeOutcome& outcome) {
    holding_ = flush_held_ = false;  // what waits goes out below, with the end
    if (phase_ == Phase::closed) return;
    outcome_.attempts += outcome.attempts;
    outcome_.error = outcome.error;
    outcome_.head_delivered = outcome.head_delivered;
    outcome_.body_bytes = outcome.body_bytes;
    outcome_.ttfb_ms = outcome.ttfb_ms;
    auto keep = exchange_;  // the exchange is still on the stack
    exchange_.reset();
    release_slot();
    // Not for a head refused although the upstream answered with it (retry_cannot_help):
    // sending it again may pay twice.
    if (outcome.error && !outcome.head_delivered && !fell_back_ &&
        !outcome.error->retry_cannot_help && lane_value_ == routing::Lane::background &&
        plan_.decision.policy.fallback_eligible && is_fallback_trigger(outcome.error->type)) {
        log_line(LogLevel::warn, request_id_, "background request failed, falling back to edge",
                 {log_str("type", std::string(to_string(outcome.error->type))),
                  log_str("message", outcome.error->message)});
        fall_back_to_edge();
        return;
    }
    // A head held for its first body bytes (not an event stream's) that never got them: no
    // byte reached the client, so it gets the error as JSON with its status, not a 200 cut
    // short. (Not a fallback: the upstream answered, and sending it again may pay twice.) An
    // event stream's head, held only for the rest of its read, is committed as it was sent.
    const bool head_unsent =
        outcome.head_delivered && !sse_ && !no_body_ && bytes_out_ == 0 && !writing_;
    if (outcome.error && head_unsent) {
        out_pending_.resize(head_from_);
        chunked_ = sse_ = sse_plain_ = close_delimited_ = false;
        no_body_ = method_ == "HEAD";
        status_ = 0;
    }
    if (outcome.error && (!outcome.head_delivered || head_unsent)) {
        const GatewayError& e = *outcome.error;
        error_type_ = std::string(to_string(e.type));
        if (log_enabled(LogLevel::error)) {
            log_line(LogLevel::error, request_id_, "upstream failed",
                     {log_str("type", error_type_), log_str("message", e.message),
                      log_num("attempts", outcome_.attempts)});
        }
        Reply reply = error_reply(config_, headers_, request_id_, e.type, e.message);
        // TIMEOUT: the lane's one clock for all attempts ran out (README, "Errors"); an SDK's
        // retry would start the slow request again, and pay for it again, with a new clock. A
        // head that came whole (and its body failed before a byte went out): the upstream
        // answered, and acted on the request.
        if (outcome_.attempts > 1 || e.retry_cannot_help || e.type == ErrorType::timeout ||
            outcome.head_delivered) {
            reply.headers.add("x-should-retry", "false");
        }
        reply.headers.add("X-Processing-Mode", lane_);
        if (fell_back_) reply.headers.add("X-Fallback", "background");
        send_reply(std::move(reply));
        return;
    }
    if (outcome.error) {
        // Bytes already reached the client: the only honest ending is a broken one.
        const GatewayError& e = *outcome.error;
        error_type_ = std::string(to_string(e.type));
        log_line(LogLevel::warn, request_id_, "response cut",
                 {log_str("type", error_type_), log_str("message", e.message)});
        // Not past a Content-Length the head announced: its bytes could complete the count
        // and make the cut answer look whole.
        // Nor in the middle of an event: no event can follow it. Ended by a blank line, the
        // half event would be delivered as whole (SDKs parse its cut JSON and fail with a
        // SyntaxError before any error event); not ended, the error's lines would join it.
        // The aborted transfer alone says it, as it does to a client of the upstream itself.
        if (sse_plain_ && !no_body_ && (chunked_ || close_delimited_) &&
            sse_boundary_.between_events()) {
            const std::string event = "event: error\ndata: " + error_body(e, request_id_) + "\n\n";
            if (chunked_) append_chunk(out_pending_, event);
            else out_pending_ += event;
        }
        keep_alive_ = false;
        close_after_ = true;
        cut_ = true;
    } else if (chunked_) {
        out_pending_ += kLastChunk;
    }
    finishing_ = true;
    flush();
}

void Session::flush() {
    while (!writing_ && phase_ != Phase::closed) {
        if (out_pending_.empty()) {
            if (finishing_) {
                // Reached inline from the exchange's callbacks, where nothing else may own this
                // session: response_done() may close it and drop the last other reference.
                const auto keep = shared_from_this();
                response_done();
            }
            return;
        }
        // Most writes fit in the socket's buffer: written here and now, with no operation to
        // complete on a later turn. What does not fit (or an error) goes the asynchronous way.
        const SendResult sent = send_now(socket_.native_handle(), out_pending_);
        if (sent.error != 0 || sent.written == 0) break;
        const std::size_t n = sent.written;
        bytes_out_ += n;
        if (n < out_pending_.size()) {
            out_pending_.erase(0, n);
            break;
        }
        out_pending_.clear();
        after_write();
    }
    if (writing_ || phase_ == Phase::closed) return;
    std::swap(out_writing_, out_pending_);
    out_pending_.clear();
    out_written_ = 0;
    writing_ = true;
    write_progress_ = steady_now();
    write_rest();
}

// One write at a time rather than asio::async_write, so that each part the socket takes
// counts as progress: a client that reads slowly but steadily is not taken for one that
// stopped (nginx's send_timeout is between two writes too).
void Session::write_rest() {
    socket_.async_write_some(
        asio::buffer(out_writing_.data() + out_written_, out_writing_.size() - out_written_),
        [self = shared_from_this()](const error_code& ec, std::size_t n) {
            self->on_written(ec, n);
        });
}

void Session::on_written(const error_code& ec, std::size_t bytes) {
    if (phase_ != Phase::closed && !ec) {
        bytes_out_ += bytes;
        out_written_ += bytes;
        if (out_written_ < out_writing_.size()) {
            write_progress_ = steady_now();
            write_rest();
            return;
        }
    }
    writing_ = false;
    out_writing_.clear();
    out_written_ = 0;
    if (phase_ == Phase::closed) return;
    if (ec) {
        if (exchange_ && log_enabled(LogLevel::warn)) {
            log_line(LogLevel::warn, request_id_, "client went away, upstream cancelled");
        }
        close_because("CLIENT_GONE");
        return;
    }
    after_write();
    flush();
}

// The write queue drained below the low mark: a paused upstream transfer goes on.
void Session::after_write() {
    if (paused_upstream_ && exchange_ && out_pending_.size() < kLowWater) {
        paused_upstream_ = false;
        exchange_->resume();  // may call on_body right here, which may write
    }
}

void Session::response_done() {
    if (rejected_) {
        linger_close();
        return;
    }
    if (close_after_ || cut_) {
        close();
        return;
    }
    clear_deadline();
    log_request();
    // Draining: a next request already buffered is served too, and stays counted meanwhile.
    if (buffer_.size() == 0 || !loop_.shared.draining.load(std::memory_order_relaxed)) end_busy();
    ++requests_served_;
    finishing_ = false;
    chunked_ = sse_ = sse_plain_ = no_body_ = paused_upstream_ = close_delimited_ = false;
    sse_boundary_.clear();
    status_ = 0;
    bytes_out_ = 0;
    outcome_ = {};
    plan_ = {};
    fell_back_ = false;
    service_ = {};
    lane_ = rule_ = "-";
    error_type_.clear();
    upstream_request_id_.clear();
    body_.reset();
    phase_ = Phase::reading;
    auto self = shared_from_this();
    self_while_proxying_.reset();
    if (!watching_) {
        read_header();
    } else if (buffer_.size() == 0) {
        watch_adopted_ = begin_head();  // the pending watch read goes on as the head's read
    } else {
        socket_.cancel();  // buffered bytes come first; the watch handler starts the next read
    }
}

}  // namespace llmgw::server
