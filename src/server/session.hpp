// One client connection: reads requests with Beast's parser (limits and timeouts here, SPEC
// §5, §6), runs what the handler decided, and relays a proxied response as it arrives. The
// write queue is bounded: when it is full the upstream transfer pauses (backpressure).
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "server/handler.hpp"
#include "server/head_checks.hpp"
#include "server/head_scan.hpp"
#include "server/loop.hpp"
#include "server/request_parser.hpp"
#include "textstream/event_boundary.hpp"
#include "upstream/exchange.hpp"
#include "util/lazy_timer.hpp"

namespace llmgw::server {

struct PlainRequest;

class Session : public std::enable_shared_from_this<Session>, public upstream::ExchangeSink {
public:
    Session(boost::asio::ip::tcp::socket socket, Loop& loop);
    ~Session() override;
    void start();
    // Graceful shutdown: an idle connection closes now, one with a request begun or in flight
    // after its response.
    void drain();
    // Closes now, whatever the session is doing (its loop is going away: the drain's deadline
    // passed). A request it cuts is logged with error=SHUTDOWN.
    void stop() { close_because("SHUTDOWN"); }

private:
    using Clock = std::chrono::steady_clock;
    // lingering: answered (a refusal), only draining what the client still sends before the
    // close; no longer in flight.
    enum class Phase { reading, responding, lingering, closed };

    // Reading and dispatching (session.cpp).
    void read_header();
    bool begin_head();
    void read_head_bytes();
    void on_head_bytes(const boost::system::error_code& ec, std::size_t n);
    void parse_head(std::size_t fresh);
    void read_more_head();  // the head goes on in the next bytes
    RequestParser& beast_parser();
    void accept_plain(const PlainRequest& plain);
    void on_header_read(const boost::system::error_code& ec);
    void read_body();
    // The head is read whole and the body is still arriving (not yet dispatched).
    bool body_in_progress() const;
    void read_body_some();
    void on_body_read(const boost::system::error_code& ec);
    // `head_read`: the head is known whole even if the parser has not said so (a body limit).
    void reject_request(int status, ErrorType type, const std::string& message,
                        bool head_read = false);
    void reject_request(const Refusal& refused, bool head_read = false) {
        reject_request(refused.status, refused.type, refused.message, head_read);
    }
    // Sends a gateway error, then closes; `whole_head`: the parser's method and target are
    // logged (else "-").
    void refuse(HandlerResult refused, bool whole_head);
    void dispatch();
    void run_request(bool has_length);
    void begin_busy();
    void end_busy();
    void send_reply(Reply reply);
    void start_proxy(ProxyPlan&& plan);
    void admit_background();
    void on_lane_full();
    void fall_back_to_edge();
    void launch_exchange();
    void release_slot();
    void watch_client();
    // One timer per session, moved lazily (session.cpp): a deadline pushed later costs
    // nothing until the pending wait wakes; only one pulled earlier re-arms the timer.
    enum class Due { nothing, close, send_check, watch };
    void begin_response(Due first);
    void set_deadline(Clock::duration after, Due what);
    void clear_deadline() { due_ = Due::nothing; }
    void on_deadline_timer();
    void close();
    // close(), and a request cut on its way is logged with `why` as its error (when it has none
    // of its own): CLIENT_GONE, SEND_TIMEOUT, SHUTDOWN.
    void close_because(std::string_view why);
    void linger_close();
    void discard_input(std::uint64_t discarded);
    void log_request();

    // Relaying and writing (session_relay.cpp).
    void on_head(const upstream::ResponseHead& head) override;
    bool on_body(std::string_view chunk) override;
    std::size_t take_at_limit(std::string_view allowed) override;
    void on_end(const upstream::ExchangeOutcome& outcome) override;
    void hold_writes(bool hold) override;
    void on_attempt(int attempt, std::string_view client) override;
    void on_retry(int next_attempt, std::string_view why, std::int64_t delay_ms) override;
    void add_connection_headers(HeadWriter& head, bool close_delimited);
    void flush();
    void flush_unless_held();
    void append_body(std::string_view chunk);  // framed, and its event tail noted
    Clock::duration send_timeout() const;
    void write_rest();
    void on_written(const boost::system::error_code& ec, std::size_t bytes);
    void after_write();
    void response_done();
    double outcome_ttfb_now() const;

    boost::asio::ip::tcp::socket socket_;
    Loop& loop_;
    const config::Config& config_;
    boost::beast::flat_buffer buffer_;
    std::optional<RequestParser> parser_;
    HeadScanner head_scan_;
    bool idle_wait_ = false;  // the deadline is the keep-alive one: no byte of the next head yet
    LazyTimer timer_;
    // Lent to each exchange in turn: a request's deadlines seldom arm a timer (lazy_timer.hpp).
    std::shared_ptr<LazyTimer> exchange_timer_;
    Clock::time_point deadline_;
    Due due_ = Due::nothing;
    Phase phase_ = Phase::reading;
    int requests_served_ = 0;
    bool busy_ = false;  // counted in Loop::busy_sessions

    // The request in progress.
    std::string method_;
    std::string target_;
    Headers headers_;             // the parser writes them here; reused request after request
    std::shared_ptr<const std::string> body_;
    bool keep_alive_ = true;
    bool http10_ = false;
    Clock::time_point started_;
    Clock::time_point linger_until_{};  // a lingering close ends by then at the latest
    std::string request_id_;
    // For the log and X-Processing-Mode: the configuration's service name and static words,
    // which outlive every session.
    std::string_view service_;
    std::string_view lane_ = "-";
    std::string_view rule_ = "-";
    std::string error_type_;
    std::string upstream_request_id_;

    // The proxied exchange and its response.
    ProxyPlan plan_;
    boost::asio::steady_timer queue_timer_;
    std::uint64_t queue_ticket_ = 0;
    bool waiting_slot_ = false;
    bool holding_slot_ = false;
    bool fell_back_ = false;
    std::shared_ptr<upstream::Exchange> exchange_;
    std::shared_ptr<Session> self_while_proxying_;
    upstream::ExchangeOutcome outcome_;
    routing::Lane lane_value_ = routing::Lane::edge;
    bool watching_ = false;
    bool watch_adopted_ = false;  // the pending watch read is the next head's read
    bool paused_upstream_ = false;
    std::size_t head_from_ = 0;  // where the head begins in out_pending_
    bool chunked_ = false;
    bool sse_ = false;
    // An event stream whose bytes are its events (no Content-Encoding): the error event of a cut
    // can follow its last whole event. Compressed, they are no text: only the abort says it.
    bool sse_plain_ = false;
    bool close_delimited_ = false;  // the body ends with the connection (an HTTP/1.0 client)
    textstream::EventBoundary sse_boundary_;  // where the relayed event stream stands
    bool no_body_ = false;
    bool finishing_ = false;      // everything is queued; finish after the last write
    bool close_after_ = false;    // close once written (Connection: close)
    bool cut_ = false;
    bool rejected_ = false;       // broken framing or a limit: linger, then close
    int status_ = 0;
    std::uint64_t bytes_out_ = 0;

    std::string out_pending_;
    std::string out_writing_;
    std::size_t out_written_ = 0;  // of out_writing_, taken by the socket so far
    bool writing_ = false;
    // hold_writes(true): what is queued waits for the rest of the upstream's read, and
    // flush_held_ says a flush waits with it.
    bool holding_ = false;
    bool flush_held_ = false;
    // When the socket last took bytes of out_writing_ (or the write began): a client that takes
    // none for send_timeout_ms stopped reading.
    Clock::time_point write_progress_;
};

}  // namespace llmgw::server
