#include "server/session.hpp"

#include <sys/ioctl.h>
#include <sys/socket.h>
#if defined(__linux__)
#include <linux/sockios.h>
#endif

#include <algorithm>
#include <boost/beast/core/read_size.hpp>
#include <boost/beast/http/read.hpp>

#include "routing/router.hpp"
#include "server/head_checks.hpp"
#include "server/http_out.hpp"
#include "server/plain_request.hpp"
#include "util/held_clock.hpp"
#include "util/http_date.hpp"
#include "util/ids.hpp"
#include "util/log.hpp"
#include "util/redact.hpp"
#include "util/send_now.hpp"
#include "util/strings.hpp"

namespace llmgw::server {

namespace asio = boost::asio;
namespace http = boost::beast::http;
using boost::system::error_code;

namespace {
constexpr std::size_t kPipelineLimit = 64 * 1024;      // buffered early bytes of a next request
// What a connection may hold unparsed: a head (16 KiB), early bytes of a next request (64 KiB)
// and a read (64 KiB) fit with room. Beast keeps a chunk's size line and a body's trailer
// section whole until they end, with no limit of its own: past this they are refused.
constexpr std::size_t kReadBufferLimit = 256 * 1024;
// A proxied exchange still running after this starts watching its client (watch_client): a
// disconnect then cancels the upstream. Most answers are done sooner, and an exchange that is
// not watched costs no read of the client (a read that finds nothing is a system call).
constexpr std::chrono::milliseconds kWatchAfter{20};
constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";

// Nothing buffered but empty lines, which RFC 9112 §2.2 lets a client send after a body (and
// parse_head skips): no byte of a next request head yet.
bool only_empty_lines(const boost::beast::flat_buffer& buffer) {
    const auto data = buffer.data();
    const std::string_view bytes(static_cast<const char*>(data.data()), data.size());
    return bytes.find_first_not_of("\r\n") == std::string_view::npos;
}

// What filled the read buffer of a chunked body (its unparsed bytes, from the chunk header
// Beast is reading): after the last chunk's "0" line, the trailer section; else a size line.
std::string_view overflowing_part(std::string_view unparsed) {
    if (unparsed.substr(0, 2) == "\r\n") unparsed.remove_prefix(2);  // the previous data's end
    const std::size_t eol = unparsed.find("\r\n");
    if (eol == std::string_view::npos) return "a chunk size line is";
    const std::string_view size = unparsed.substr(0, std::min(eol, unparsed.find(';')));
    const bool last_chunk = !size.empty() && size.find_first_not_of('0') == std::string_view::npos;
    return last_chunk ? "the trailer section is" : "a chunk size line is";
}

// Bytes the socket holds that the peer has not acknowledged yet.
int unsent_bytes(int fd) {
    int n = 0;
#if defined(__linux__)
    if (::ioctl(fd, SIOCOUTQ, &n) != 0) return 0;
#elif defined(SO_NWRITE)
    socklen_t size = sizeof n;
    if (::getsockopt(fd, SOL_SOCKET, SO_NWRITE, &n, &size) != 0) return 0;
#endif
    return n;
}

// Resets `socket` (RST) once its send queue is empty, checked every 20 ms for at most 2 s.
void reset_once_sent(asio::ip::tcp::socket socket) {
    struct Closing {
        explicit Closing(asio::ip::tcp::socket s)
            : socket(std::move(s)), timer(socket.get_executor()) {}
        // Destroyed with its loop's pending handlers (the drain's deadline passed while the
        // queue drained): reset still, the unsent tail given up. A close would send a FIN,
        // and the cut answer would look whole.
        ~Closing() {
            error_code ignored;
            if (!socket.is_open()) return;
            socket.set_option(asio::socket_base::linger(true, 0), ignored);
            socket.close(ignored);
        }
        asio::ip::tcp::socket socket;
        asio::steady_timer timer;
        int checks_left = 100;
    };
    const auto closing = std::make_shared<Closing>(std::move(socket));
    const auto check = [](const std::shared_ptr<Closing>& c, const auto& again) -> void {
        if (--c->checks_left > 0 && unsent_bytes(c->socket.native_handle()) > 0) {
            c->timer.expires_after(std::chrono::milliseconds(20));
            c->timer.async_wait([c, again](const error_code& ec) {
                if (!ec) again(c, again);
            });
            return;
        }
        error_code ignored;
        c->socket.set_option(asio::socket_base::linger(true, 0), ignored);
        c->socket.close(ignored);
    };
    check(closing, check);
}

}  // namespace

Session::Session(asio::ip::tcp::socket socket, Loop& loop)
    : socket_(std::move(socket)),
      loop_(loop),
      config_(*loop.shared.config),
      timer_(loop.io),
      exchange_timer_(std::make_shared<LazyTimer>(loop.io)),
      queue_timer_(loop.io) {
    buffer_.max_size(kReadBufferLimit);
    loop_.sessions.insert(this);  // counted by the listener, in the gateway and on the loop
}

Session::~Session() {
    loop_.sessions.erase(this);
    loop_.shared.connections.fetch_sub(1, std::memory_order_relaxed);  // counted by the listener
    loop_.connections.fetch_sub(1, std::memory_order_relaxed);
    end_busy();  // whatever path it took, it is in flight no more
    if (exchange_) exchange_->cancel();
    release_slot();
}

void Session::start() {
    error_code ignored;
    socket_.set_option(asio::ip::tcp::no_delay(true), ignored);
    read_header();
}

void Session::drain() {
    if (phase_ == Phase::closed) return;  // only its cancelled handlers are still to run
    // Idle, without one byte of a next request: closed now. A request begun (its head or its
    // body still arriving) is in flight like one being answered: served, then closed, and the
    // drain waits for it.
    const bool begun = !only_empty_lines(buffer_) || (parser_ && parser_->got_some());
    if ((phase_ == Phase::reading && !begun) || phase_ == Phase::lingering) {
        close();
        return;
    }
    keep_alive_ = false;
    begin_busy();
}

Session::Clock::duration Session::send_timeout() const {
    return std::chrono::milliseconds(config_.gateway.send_timeout_ms);
}

void Session::set_deadline(Clock::duration after, Due what) {
    due_ = what;
    deadline_ = steady_now() + after;
    timer_.wake_by<&Session::on_deadline_timer>(deadline_, this, weak_from_this());
}

void Session::on_deadline_timer() {
    if (phase_ == Phase::closed || due_ == Due::nothing) return;
    if (Clock::now() < deadline_) {
        timer_.wake_by<&Session::on_deadline_timer>(deadline_, this, weak_from_this());
        return;
    }
    if (due_ == Due::watch) {
        watch_client();
        set_deadline(send_timeout() - kWatchAfter, Due::send_check);
        return;
    }
    if (due_ == Due::send_check) {
        // A client whose socket has taken none of a write for send_timeout_ms stopped reading:
        // it is dropped, and its upstream transfer with it. Else the next check is when that
        // would be so at the earliest.
        const auto since_progress = Clock::now() - write_progress_;
        if (writing_ && since_progress >= send_timeout()) {
            log_line(LogLevel::warn, request_id_, "client stopped reading, closing");
            close_because("SEND_TIMEOUT");
            return;
        }
        set_deadline(send_timeout() - (writing_ ? since_progress : Clock::duration{}),
                     Due::send_check);
        return;
    }
    if (body_in_progress()) status_ = 408;  // its body stalled: logged as nginx does
    close();  // too slow: free the slot
}

bool Session::body_in_progress() const {
    return phase_ == Phase::reading && parser_ && parser_->is_header_done() &&
           !parser_->is_done() && method_.empty();
}

void Session::read_header() {
    if (!begin_head()) return;
    // On the next turn either way. Early bytes of a pipelined request: a response that
    // completed inside flush() must not recurse into the next request (and so on down the
    // stack). No bytes yet: the client has only just been sent its answer, and Asio tries a new
    // read at once, so a read started now finds nothing and costs a system call; by the next
    // turn, under load, the next request is usually there.
    asio::post(socket_.get_executor(), [self = shared_from_this()] {
        if (self->phase_ != Phase::reading) return;
        if (self->buffer_.size() > 0) {
            self->parse_head(self->buffer_.size());
        } else {
            self->read_head_bytes();
        }
    });
}

// The state for reading the next request head, without starting a read. False: closed.
bool Session::begin_head() {
    // Draining: no new request, but one already buffered (pipelined behind the last answer)
    // is served; its answer says Connection: close.
    if (loop_.shared.draining.load(std::memory_order_relaxed) && only_empty_lines(buffer_)) {
        close();
        return false;
    }
    phase_ = Phase::reading;
    headers_.clear();
    parser_.reset();  // made when the plain pass declines (beast_parser)
    head_scan_ = HeadScanner();
    // A kept-alive connection may sit idle for keepalive_timeout_ms; once the next head has
    // begun, the rest of it must come within header_timeout_ms, as on a new connection.
    idle_wait_ = requests_served_ > 0 && only_empty_lines(buffer_);
    set_deadline(std::chrono::milliseconds(idle_wait_ ? config_.gateway.keepalive_timeout_ms
                                                      : config_.gateway.header_timeout_ms),
                 Due::close);
    return true;
}

// http::async_read_header's loop, plus an obs-fold scan of each byte of the head once.
void Session::read_head_bytes() {
    const std::size_t room = boost::beast::read_size(buffer_, 65536);
    if (room == 0) {  // early bytes of next requests and this head fill the buffer
        reject_request(431, ErrorType::bad_request, "request head too large");
        return;
    }
    socket_.async_read_some(buffer_.prepare(room),
                            [self = shared_from_this()](const error_code& ec, std::size_t n) {
                                self->on_head_bytes(ec, n);
                            });
}

void Session::on_head_bytes(const error_code& ec, std::size_t n) {
    if (phase_ == Phase::closed) return;
    const HeldClock clock;  // the request's start, deadlines, the exchange: one reading
    buffer_.commit(n);
    if (ec == asio::error::eof) {
        // As Beast reads: no byte at all is a clean close, a head cut short is malformed.
        error_code eof = http::error::end_of_stream;
        if (parser_ && parser_->got_some()) parser_->put_eof(eof);
        on_header_read(eof);
        return;
    }
    if (ec) {
        on_header_read(ec);
        return;
    }
    parse_head(n);
}

// The last `fresh` bytes of buffer_ have not been scanned yet; the scan stops at the end of the
// head, so body bytes after it (which may hold anything) are left alone.
void Session::parse_head(std::size_t fresh) {
    const auto data = buffer_.data();
    std::string_view buffered(static_cast<const char*>(data.data()), data.size());
    if (!parser_) {
        // RFC 9112 §2.2: empty lines before the request line are ignored (nginx does too), up
        // to the head limit, which counts them. A CR alone may begin one: its LF is awaited.
        if (const std::size_t blank = head_scan_.skip_empty_lines(buffered); blank > 0) {
            buffer_.consume(blank);
            buffered.remove_prefix(blank);
            if (head_scan_.scanned() > kHeaderLimit) {
                reject_request(refusal_of_large_head(head_scan_));
                return;
            }
        }
        if (buffered.empty() || buffered == "\r") {
            // Empty lines only (a CRLF a client may send after a body): a kept-alive
            // connection is still idle, under keepalive_timeout_ms, no head begun.
            read_head_bytes();
            return;
        }
        // The first bytes of this request: most requests are all there, and plain. Not after
        // empty lines (rare): only the scanner below counts them in the head limit.
        std::optional<PlainRequest> plain;
        if (head_scan_.scanned() == 0) {
            plain = parse_plain_request(buffered, config_.gateway.max_request_bytes, headers_);
        }
        if (plain) {
            accept_plain(*plain);
            return;
        }
        headers_.clear();
        beast_parser();
        fresh = buffered.size();  // the scanner below has seen none of it
    }
    if (head_scan_.scan(buffered.substr(buffered.size() - fresh)).verdict ==
        HeadScanner::Verdict::obs_fold) {
        reject_request(refusal_of_obs_fold());
        return;
    }
    // Beast's header_limit leaves out some of the head's bytes (a head of 16,885 bytes in
    // many short fields passed it): the scanner counts every byte up to the empty line.
    if (head_scan_.scanned() > kHeaderLimit) {
        reject_request(refusal_of_large_head(head_scan_));
        return;
    }
    error_code ec;
    buffer_.consume(parser_->put(buffer_.data(), ec));
    if (ec == http::error::bad_version) {
        // Beast takes only HTTP/1.0 and 1.1, and consumes nothing of a head it refuses.
        const auto head = buffer_.data();
        const RequestVersion version = request_line_version(
            std::string_view(static_cast<const char*>(head.data()), head.size()));
        if (version.major != 1 || version.minor < 2) {
            reject_request(refusal_of_version(version));
            return;
        }
        static_cast<char*>(head.data())[version.minor_at] = '1';  // served as HTTP/1.1
        parser_.reset();
        headers_.clear();
        ec = {};
        buffer_.consume(beast_parser().put(buffer_.data(), ec));
    }
    if (ec == http::error::need_more || (!ec && !parser_->is_header_done())) {
        read_more_head();
        return;
    }
    on_header_read(ec);
}

void Session::read_more_head() {
    if (idle_wait_) {  // the next head has begun
        idle_wait_ = false;
        set_deadline(std::chrono::milliseconds(config_.gateway.header_timeout_ms), Due::close);
    }
    read_head_bytes();
}

RequestParser& Session::beast_parser() {
    if (!parser_) {
        parser_.emplace(headers_);
        parser_->header_limit(kHeaderLimit);
        parser_->body_limit(config_.gateway.max_request_bytes);
    }
    return *parser_;
}

void Session::accept_plain(const PlainRequest& plain) {
    started_ = steady_now();
    method_.assign(plain.method);
    target_.assign(plain.target);
    keep_alive_ = plain.keep_alive;
    http10_ = false;
    body_ = std::make_shared<const std::string>(plain.body);
    buffer_.consume(plain.size);
    clear_deadline();
    run_request(plain.has_content_length);
}

void Session::on_header_read(const error_code& ec) {
    if (phase_ == Phase::closed) return;
    if (ec) {
        if (ec == http::error::end_of_stream || ec == asio::error::eof ||
            ec == asio::error::operation_aborted || ec == asio::error::connection_reset ||
            ec == asio::error::bad_descriptor) {
            close();
            return;
        }
        // A body over the limit is found once the head is all in (its request id and CORS).
        reject_request(refusal_of_parse_error(ec, config_.gateway.max_request_bytes, head_scan_),
                       ec == http::error::body_limit);
        return;
    }
    started_ = steady_now();
    const RequestParser& req = *parser_;
    if (auto refused = refusal_of_parsed_head(req, config_.gateway.max_request_bytes)) {
        reject_request(*refused);
        return;
    }
    // 100 Continue, not to an HTTP/1.0 client (RFC 9110 §10.1.1). A request refused whatever
    // its body (an unknown service or route, a path the gateway refuses) gets its answer in
    // place of it, as an early 413 does, and the connection closes after it, the body unread.
    // The 100 is written now, ahead of anything else; if the socket takes none of it (a
    // previous answer still fills it), not at all: a client that gets no 100 sends its body
    // after a wait. If it takes part, the rest goes first in the queue.
    if (req.expect_continue && !req.is_done() && req.version >= 11) {
        if (auto refused =
                refusal_before_body(loop_.shared.handler, req.method, req.target, headers_)) {
            refuse(std::move(*refused), true);
            return;
        }
        const SendResult sent = send_now(socket_.native_handle(), kContinue);
        if (sent.written > 0 && sent.written < kContinue.size()) {
            out_pending_.assign(kContinue.substr(sent.written));
        }
    }
    read_body();
}

void Session::read_body() {
    // Usually the whole body came with the head: it is parsed here, with no read and no timer.
    parser_->eager(true);  // every chunk a read brings, not one per completion
    if (!parser_->is_done() && buffer_.size() > 0) {
        error_code ec;
        buffer_.consume(parser_->put(buffer_.data(), ec));
        if (ec && ec != http::error::need_more) {
            on_body_read(ec);
            return;
        }
    }
    if (parser_->is_done()) {
        on_body_read({});
        return;
    }
    read_body_some();
}

// A piece of the body at a time, each within keepalive_timeout_ms of the last (nginx's
// client_body_timeout): a large upload on a slow link is not cut for its size.
void Session::read_body_some() {
    set_deadline(std::chrono::milliseconds(config_.gateway.keepalive_timeout_ms), Due::close);
    http::async_read_some(
        socket_, buffer_, *parser_, [self = shared_from_this()](const error_code& ec, std::size_t) {
            if (!ec && self->phase_ != Phase::closed && !self->parser_->is_done()) {
                self->read_body_some();
                return;
            }
            self->on_body_read(ec);
        });
}

void Session::on_body_read(const error_code& ec) {
    if (phase_ == Phase::closed) return;
    clear_deadline();
    if (ec == http::error::body_limit) {
        reject_request(refusal_of_large_body(config_.gateway.max_request_bytes));
        return;
    }
    if (ec == http::error::buffer_overflow) {
        const auto data = buffer_.data();
        const std::string_view unparsed(static_cast<const char*>(data.data()), data.size());
        reject_request(400, ErrorType::bad_request,
                       "malformed HTTP request: " + std::string(overflowing_part(unparsed)) +
                           " longer than " + std::to_string(kReadBufferLimit / 1024) + " KiB");
        return;
    }
    if (ec) {
        if (ec == asio::error::operation_aborted || ec == asio::error::eof ||
            ec == http::error::end_of_stream || ec == asio::error::connection_reset) {
            close();
        } else {
            reject_request(400, ErrorType::bad_request, "malformed HTTP request: " + ec.message());
        }
        return;
    }
    dispatch();
}

// Broken framing or limits: answer once and close, since the stream can't be trusted.
void Session::reject_request(int status, ErrorType type, const std::string& message,
                             bool head_read) {
    // A head read whole (a body over the limit, faulty framing) gives the client its own request
    // id and CORS headers back (a browser could not read the error without them); a head cut
    // short (431, obs-fold) is trusted for neither.
    const bool whole_head = parser_ && (head_read || parser_->is_header_done());
    const Headers none;
    const Headers& request = whole_head ? headers_ : none;
    std::string id = choose_request_id(request);
    Reply reply = error_reply(config_, request, id, type, message, status);
    refuse(HandlerResult{std::move(id), std::move(reply), std::string(to_string(type))},
           whole_head);
}

// The body, if any, is left unread: after the answer the connection closes (linger_close).
void Session::refuse(HandlerResult refused, bool whole_head) {
    clear_deadline();
    rejected_ = true;
    started_ = steady_now();
    keep_alive_ = false;
    request_id_ = std::move(refused.request_id);
    error_type_ = std::move(refused.error_type);
    method_ = whole_head ? parser_->method : "-";
    target_ = whole_head ? parser_->target : "-";
    send_reply(std::get<Reply>(std::move(refused.action)));
}

void Session::dispatch() {
    RequestParser& req = *parser_;
    method_ = std::move(req.method);
    target_ = std::move(req.target);
    // RFC 9112 §6.1: an HTTP/1.0 message with Transfer-Encoding has faulty framing: answered,
    // then the connection closes.
    keep_alive_ = req.keep_alive() && !(req.version < 11 && req.has_transfer_encoding);
    http10_ = req.version < 11;
    body_ = std::make_shared<const std::string>(std::move(req.body));
    run_request(req.has_content_length);
}

void Session::run_request(bool has_length) {
    // A large body leaves a large read buffer behind; an idle keep-alive connection keeps none.
    if (buffer_.capacity() > 64 * 1024 && buffer_.size() < 16 * 1024) buffer_.shrink_to_fit();
    IncomingRequest in{method_, target_, &headers_, body_,
                       has_length ? std::optional<std::uint64_t>(body_->size()) : std::nullopt};
    HandlerResult result = handle_request(loop_.shared.handler, in);
    request_id_ = std::move(result.request_id);
    error_type_ = std::move(result.error_type);
    if (auto* plan = std::get_if<ProxyPlan>(&result.action)) {
        start_proxy(std::move(*plan));
    } else {
        send_reply(std::move(std::get<Reply>(result.action)));
    }
}

void Session::begin_response(Due first) {
    phase_ = Phase::responding;
    // One check per send_timeout_ms rather than a timer per write (on_deadline_timer); a
    // proxied response first starts watching the client after kWatchAfter.
    set_deadline(first == Due::watch ? Clock::duration{kWatchAfter} : send_timeout(), first);
    ++loop_.requests_begun;
    begin_busy();
}

void Session::begin_busy() {
    if (busy_) return;
    busy_ = true;
    loop_.busy_sessions.fetch_add(1, std::memory_order_relaxed);
}

void Session::end_busy() {
    if (!busy_) return;
    busy_ = false;
    loop_.busy_sessions.fetch_sub(1, std::memory_order_relaxed);
}

void Session::send_reply(Reply reply) {
    begin_response(Due::send_check);
    status_ = reply.status;
    const bool head_only = method_ == "HEAD" || reply.status == 204 || reply.status == 304;
    HeadWriter head(out_pending_, reply.status);
    head.add_own("Date", http_date_now());  // RFC 9110 §6.6.1
    for (const HeaderField& f : reply.headers) head.add(f);
    if (reply.status != 204 && reply.status != 304) head.add_decimal("Content-Length", reply.body.size());
    add_connection_headers(head, false);
    head.finish();
    if (!head_only) out_pending_ += reply.body;
    finishing_ = true;
    flush();
}

void Session::start_proxy(ProxyPlan&& plan) {
    begin_response(Due::watch);
    plan_ = std::move(plan);
    service_ = plan_.decision.service->name;
    lane_value_ = plan_.decision.lane;
    lane_ = routing::to_string(plan_.decision.lane);
    rule_ = routing::to_string(plan_.decision.rule);
    no_body_ = method_ == "HEAD";
    if (log_enabled(LogLevel::debug)) {
        log_line(LogLevel::debug, request_id_, "route",
                 {log_str("lane", std::string(lane_)), log_str("rule", std::string(rule_)),
                  log_str("reason", plan_.decision.reason),
                  log_str("upstream", redact_target(plan_.request.url))});
    }
    self_while_proxying_ = shared_from_this();
    if (lane_value_ == routing::Lane::background) {
        admit_background();
    } else {
        launch_exchange();
    }
}

// SPEC §3: a bounded number of background exchanges; a request that cannot get a slot within
// the queue timeout falls back to the edge lane, or is refused with 503 OVERLOADED.
void Session::admit_background() {
    LaneGate& gate = *loop_.shared.background;
    const auto admit = gate.acquire(queue_ticket_, loop_.io, [weak = weak_from_this(), &gate] {
        auto self = weak.lock();
        if (!self || !self->waiting_slot_ || self->phase_ == Phase::closed) {
            gate.release();  // nobody wants it any more: pass it on
            return;
        }
        self->waiting_slot_ = false;
        self->holding_slot_ = true;
        self->queue_timer_.cancel();
        self->launch_exchange();
    });
    if (admit == LaneGate::Admit::granted) {
        holding_slot_ = true;
        launch_exchange();
        return;
    }
    if (admit == LaneGate::Admit::full) {
        on_lane_full();
        return;
    }
    waiting_slot_ = true;
    queue_timer_.expires_after(std::chrono::milliseconds(config_.gateway.background_queue_timeout_ms));
    queue_timer_.async_wait([weak = weak_from_this()](const error_code& ec) {
        auto self = weak.lock();
        if (ec || !self || !self->waiting_slot_ || self->phase_ == Phase::closed) return;
        if (!self->loop_.shared.background->cancel(self->queue_ticket_)) return;  // grant coming
        self->waiting_slot_ = false;
        self->on_lane_full();
    });
}

void Session::on_lane_full() {
    if (plan_.decision.policy.fallback_eligible) {
        log_line(LogLevel::warn, request_id_, "background lane full, falling back to edge",
                 {log_num("slots", config_.gateway.background_slots)});
        fall_back_to_edge();
        return;
    }
    error_type_ = "OVERLOADED";
    Reply reply = error_reply(config_, headers_, request_id_, ErrorType::overloaded,
                              "background lane is full (" +
                                  std::to_string(config_.gateway.background_slots) +
                                  " concurrent requests) and fallback is off");
    reply.headers.add("X-Processing-Mode", lane_);
    send_reply(std::move(reply));
}

void Session::fall_back_to_edge() {
    release_slot();
    fell_back_ = true;
    lane_value_ = routing::Lane::edge;
    lane_ = routing::to_string(routing::Lane::edge);
    RequestPolicy policy =
        routing::policy_for(config_, *plan_.decision.service, routing::Lane::edge, method_);
    policy.fallback_eligible = false;
    // The fallback is one more run (SPEC §3); the retries the background lane spent are not
    // given again, or a failing upload would be sent (1 + max_retries) times on each lane.
    const int spent = std::max(0, outcome_.attempts - 1);
    policy.retry.max_retries = std::max(0, policy.retry.max_retries - spent);
    policy.retry.enabled = policy.retry.enabled && policy.retry.max_retries > 0;
    plan_.decision.policy = policy;
    launch_exchange();
}

void Session::launch_exchange() {
    // Keep the plan when a fallback may need to replay it; otherwise hand it over.
    upstream::UpstreamRequest request =
        plan_.decision.policy.fallback_eligible ? plan_.request : std::move(plan_.request);
    exchange_ = upstream::Exchange::start(loop_.upstream, std::move(request), plan_.decision.policy,
                                          *this, exchange_timer_);
}

void Session::release_slot() {
    if (waiting_slot_) {
        waiting_slot_ = false;
        queue_timer_.cancel();
        loop_.shared.background->cancel(queue_ticket_);  // if the grant is in flight, it returns
    }
    if (holding_slot_) {
        holding_slot_ = false;
        loop_.shared.background->release();
    }
}

// While the upstream answers, keep one read pending so a client that goes away is noticed at
// once and its upstream transfer cancelled. Early bytes of a pipelined request are kept, and
// a read still pending when the response ends becomes the next head's read (no second
// speculative recv per request).
void Session::watch_client() {
    if (watching_ || phase_ != Phase::responding || buffer_.size() >= kPipelineLimit) return;
    watching_ = true;
    socket_.async_read_some(buffer_.prepare(4096), [self = shared_from_this()](
                                                       const error_code& ec, std::size_t n) {
        self->watching_ = false;
        if (self->phase_ == Phase::closed) return;
        if (self->phase_ == Phase::reading) {
            if (self->watch_adopted_) {
                // The response ended while this read was pending: it is the next head's read.
                self->watch_adopted_ = false;
                if (ec == asio::error::operation_aborted) {
                    self->read_header();
                } else {
                    self->on_head_bytes(ec, n);
                }
                return;
            }
            // response_done cancelled it (bytes were buffered), maybe after it had completed.
            if (ec == asio::error::operation_aborted || !ec) {
                self->buffer_.commit(ec ? 0 : n);
                self->read_header();
            } else {
                self->close();
            }
            return;
        }
        if (ec == asio::error::operation_aborted) return;
        if (ec) {
            if (self->exchange_ && log_enabled(LogLevel::warn)) {
                log_line(LogLevel::warn, self->request_id_, "client went away, upstream cancelled");
            }
            self->status_ = self->status_ == 0 ? 499 : self->status_;
            self->close_because("CLIENT_GONE");
            return;
        }
        self->buffer_.commit(n);
        if (self->phase_ == Phase::reading) {
            self->read_header();
        } else {
            self->watch_client();
        }
    });
}

namespace {

// A lingering close (nginx's lingering_timeout and lingering_time, shorter between reads):
// until the client closes, or sends nothing for kLingerIdle, or kLingerTotal has passed, or it
// sent kLingerMaxBytes.
constexpr std::chrono::seconds kLingerIdle{2};
constexpr std::chrono::seconds kLingerTotal{30};
constexpr std::uint64_t kLingerMaxBytes = 1ull << 30;

}  // namespace

// After refusing a request whose body may still be arriving, stop sending and drain what the
// client sends before closing, so our answer is not lost to a TCP reset: a client that sends
// its whole body before it reads (Python's http.client, and requests with it) then reads the
// answer. Draining 1 MiB at most for 2 s gave such clients a broken pipe instead of the 413.
void Session::linger_close() {
    log_request();
    // Answered: a drain does not wait for it (it closes it), nor does the idle memory release.
    phase_ = Phase::lingering;
    end_busy();
    error_code ignored;
    socket_.shutdown(asio::ip::tcp::socket::shutdown_send, ignored);
    linger_until_ = steady_now() + kLingerTotal;
    set_deadline(kLingerIdle, Due::close);
    discard_input(0);
}

void Session::discard_input(std::uint64_t discarded) {
    thread_local char sink[16384];  // contents are thrown away: sharing it is harmless
    socket_.async_read_some(asio::buffer(sink), [self = shared_from_this(), discarded](
                                                    const error_code& ec, std::size_t n) {
        if (ec || discarded + n > kLingerMaxBytes) {
            self->close();
            return;
        }
        // kLingerIdle more, never past kLingerTotal in all.
        self->set_deadline(
            std::min<Clock::duration>(kLingerIdle, self->linger_until_ - steady_now()), Due::close);
        self->discard_input(discarded + n);
    });
}

void Session::close_because(std::string_view why) {
    if ((phase_ == Phase::responding || body_in_progress()) && error_type_.empty()) {
        error_type_ = why;
    }
    close();
}

void Session::close() {
    if (phase_ == Phase::closed) return;
    const bool was_busy = phase_ == Phase::responding;
    if (body_in_progress()) {
        // Its client left (or stalled, 408) while sending the body: a request all the same,
        // logged (499, as nginx) rather than lost.
        method_ = parser_->method;
        target_ = parser_->target;
        request_id_ = choose_request_id(headers_);
        // 499 when its client left; the shutdown's cut sent nothing (status 0).
        if (status_ == 0 && error_type_ != "SHUTDOWN") status_ = 499;
        log_request();
    }
    phase_ = Phase::closed;
    timer_.cancel();
    exchange_timer_->cancel();  // nothing waits on it then; the exchange below only lets it go
    if (exchange_) {
        const upstream::ExchangeOutcome& progress = exchange_->progress();
        outcome_.attempts += progress.attempts;
        outcome_.ttfb_ms = progress.ttfb_ms;
        exchange_->cancel();
        exchange_.reset();
    }
    release_slot();
    if (was_busy) log_request();
    end_busy();
    error_code ignored;
    // A body that ends with the connection (an HTTP/1.0 client), ended before its end: cut,
    // dropped by the send check, stopped by the drain's deadline. A clean close would make it
    // look whole (SPEC §6): the connection is reset instead, once the client has been sent
    // what the socket holds (the error event too).
    const bool broken =
        close_delimited_ && (cut_ || !finishing_ || writing_ || !out_pending_.empty());
    if (broken) {
        socket_.cancel(ignored);
        reset_once_sent(std::move(socket_));
    } else {
        socket_.shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
        socket_.close(ignored);
    }
    self_while_proxying_.reset();  // may destroy this session: last statement
}

void Session::log_request() {
    if (!log_enabled(LogLevel::info) || method_.empty()) return;
    const double duration =
        std::chrono::duration<double, std::milli>(Clock::now() - started_).count();  // to the end
    log_line(LogLevel::info, request_id_, "request",
             {log_str("method", method_),
              log_str("service", std::string(service_.empty() ? "-" : service_)),
              log_str("path", redact_target(target_)), log_str("lane", std::string(lane_)),
              log_str("rule", std::string(rule_)), log_num("status", status_),
              log_num("bytes_in", body_ ? static_cast<long long>(body_->size()) : 0),
              log_num("bytes_out", static_cast<long long>(bytes_out_)),
              log_ms("ttfb_ms", outcome_.ttfb_ms), log_ms("duration_ms", duration),
              log_num("attempts", outcome_.attempts), log_bool("fallback", fell_back_),
              log_str("error", error_type_.empty() ? "-" : error_type_),
              log_str("upstream_request_id",
                      upstream_request_id_.empty() ? "-" : upstream_request_id_)});
    method_.clear();
}

}  // namespace llmgw::server
