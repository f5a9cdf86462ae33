#include "upstream/h1_attempt.hpp"

#include <algorithm>
#include <boost/asio/buffer.hpp>
#include <boost/asio/post.hpp>
#include <boost/beast/http/basic_parser.hpp>
#include <boost/beast/http/error.hpp>
#include <cstring>
#include <limits>

#include "upstream/address_race.hpp"
#include "upstream/h1_message.hpp"
#include "upstream/limits.hpp"
#include "upstream/plain_response.hpp"
#include "util/held_clock.hpp"
#include "util/send_now.hpp"
#include "util/strings.hpp"

namespace llmgw::upstream {

namespace asio = boost::asio;
namespace http = boost::beast::http;
using boost::system::error_code;
using tcp = asio::ip::tcp;

namespace {

constexpr std::size_t kReadSize = 16 * 1024;

// "HTTP/1.1 200\r\n": a status line without the space before its reason phrase (RFC 9112 §4
// asks for it even when the phrase is empty), which curl and libcurl accept and Beast 1.74
// refuses. At the start of a head not yet parsed (Beast waits for the whole head before it
// takes the status line), the space is put in.
void space_before_missing_reason(boost::beast::flat_buffer& buffer) {
    constexpr std::size_t kLine = 12;  // "HTTP/1.1 200"
    const auto data = buffer.data();
    const char* p = static_cast<const char*>(data.data());
    const std::size_t n = data.size();
    const auto digit = [](char c) { return c >= '0' && c <= '9'; };
    if (n <= kLine || p[kLine] != '\r' || std::string_view(p, 7) != "HTTP/1." || !digit(p[7]) ||
        p[8] != ' ' || !digit(p[9]) || !digit(p[10]) || !digit(p[11])) {
        return;
    }
    buffer.commit(boost::asio::buffer_copy(buffer.prepare(1), boost::asio::buffer(" ", 1)));
    char* q = static_cast<char*>(buffer.data().data());
    std::memmove(q + kLine + 1, q + kLine, n - kLine);
    q[kLine] = ' ';
}

// A head whose lines end in a bare LF, which curl and libcurl read (RFC 9112 §2.2 lets a
// recipient take one for a line end) and Beast 1.74 refuses. Once the buffer holds the head's
// empty line, a CR is put before each bare LF up to it. False while the head is not whole and
// has a bare LF: Beast, which reads the status line before the head is whole, must wait.
bool crlf_before_bare_lf(boost::beast::flat_buffer& buffer) {
    const auto data = buffer.data();
    const char* p = static_cast<const char*>(data.data());
    const std::size_t n = data.size();
    std::size_t bare = 0;
    std::size_t end = 0;  // just past the LF of the empty line
    for (std::size_t line = 0; end == 0;) {
        const void* found = line < n ? std::memchr(p + line, '\n', n - line) : nullptr;
        if (found == nullptr) return bare == 0;  // the head is not whole yet
        const std::size_t lf = static_cast<std::size_t>(static_cast<const char*>(found) - p);
        const bool cr = lf > line && p[lf - 1] == '\r';
        bare += cr ? 0 : 1;
        if (lf - line == (cr ? 1U : 0U)) end = lf + 1;
        line = lf + 1;
    }
    if (bare == 0) return true;
    buffer.prepare(bare);
    buffer.commit(bare);
    char* q = static_cast<char*>(buffer.data().data());
    std::memmove(q + end + bare, q + end, n - end);  // what follows the head, moved whole
    for (std::size_t from = end, to = end + bare; from > 0;) {  // the head, back to front
        const char c = q[--from];
        q[--to] = c;
        if (c == '\n' && (from == 0 || q[from - 1] != '\r')) q[--to] = '\r';
    }
    return true;
}

// Set by a parser callback to stop put() where it is; the attempt's flags say why.
const error_code kInterrupted = make_error_code(boost::system::errc::operation_canceled);

// Safe to send twice (RFC 9110 §9.2.2): the idempotent methods, or a request that carries a
// key the server uses to apply it once.
bool is_idempotent(const UpstreamRequest& request) {
    const std::string& m = request.method;
    return m == "GET" || m == "HEAD" || m == "OPTIONS" || m == "TRACE" || m == "PUT" ||
           m == "DELETE" || request.headers.contains("Idempotency-Key") ||
           request.headers.contains("X-Idempotency-Key");
}

GatewayError network(std::string what) { return {ErrorType::network, "upstream network error: " + what}; }
GatewayError not_sent(const std::string& why) {
    return network("could not send the request: " + why);
}

}  // namespace

// Beast's HTTP/1 response parser, reporting straight to the attempt: body pieces are views
// into the connection's read buffer.
class H1Attempt::Parser final : public http::basic_parser<false> {
public:
    explicit Parser(H1Attempt& attempt) : attempt_(attempt) {
        header_limit(static_cast<std::uint32_t>(kMaxResponseHead));
        // The exchange applies max_response_bytes. (Not boost::none: Boost 1.74 compares the
        // Content-Length against an empty optional and refuses every body.)
        body_limit(std::numeric_limits<std::uint64_t>::max());
        eager(true);
        head.headers.reserve(16, Headers::kTypicalBytes);
    }
    ResponseHead head;

private:
    void on_request_impl(http::verb, boost::string_view, boost::string_view, int, error_code&) override {}
    void on_response_impl(int code, boost::string_view reason, int version, error_code&) override {
        head.status = code;
        head.reason = std::string_view(reason.data(), reason.size());  // in the buffer, as fields
        head.http_version = version == 10 ? "1.0" : "1.1";
    }
    void on_field_impl(http::field, boost::string_view name, boost::string_view value, error_code&) override {
        head.headers.add(std::string_view(name.data(), name.size()),
                         std::string_view(value.data(), value.size()));
    }
    void on_header_impl(error_code& ec) override { attempt_.parsed_head(ec); }
    void on_body_init_impl(const boost::optional<std::uint64_t>&, error_code&) override {}
    std::size_t on_body_impl(boost::string_view body, error_code& ec) override {
        return attempt_.parsed_body(std::string_view(body.data(), body.size()), ec);
    }
    void on_chunk_header_impl(std::uint64_t, boost::string_view, error_code&) override {}
    std::size_t on_chunk_body_impl(std::uint64_t, boost::string_view body, error_code& ec) override {
        return attempt_.parsed_body(std::string_view(body.data(), body.size()), ec);
    }
    void on_finish_impl(error_code&) override {}

    H1Attempt& attempt_;
};

H1Attempt::H1Attempt(H1Pool& pool, H1Target target, const UpstreamRequest& request,
                     AttemptOwner& owner)
    : pool_(pool), target_(std::move(target)), request_(request), owner_(&owner) {}

H1Attempt::~H1Attempt() = default;

std::shared_ptr<H1Attempt> H1Attempt::self() {
    return std::static_pointer_cast<H1Attempt>(shared_from_this());
}

void H1Attempt::start() {
    std::string bad;
    auto head = h1_request_head(request_, target_, &bad);
    if (!head) {
        // Reported from the loop, never from inside start().
        asio::post(pool_.io(), [self = self(), bad] { self->end(unsendable_request(bad)); });
        return;
    }
    head_ = std::move(*head);
    new_parser();
    conn_ = pool_.take(target_.origin);
    reused_ = conn_ != nullptr;
    if (reused_) {
        send();
    } else {
        open_fresh();
    }
}

void H1Attempt::cancel() {
    owner_ = nullptr;
    stop_race();
    // Close, but keep the connection object: a pending operation (a read, a wait) still
    // refers to the socket until its aborted completion has run, and a parser
    // callback that cancelled may still be reading the buffer. It goes with the attempt.
    if (conn_) {
        error_code ignored;
        conn_->socket.close(ignored);
    }
}

void H1Attempt::resume() {
    if (!paused_ || !owner_) return;
    // Not from inside the owner's call: the chunk is offered again on the next turn.
    asio::post(pool_.io(), [self = self()] {
        if (!self->owner_ || !self->paused_) return;
        switch (self->owner_->on_attempt_body(self->held_)) {
            case AttemptOwner::Take::paused: return;
            case AttemptOwner::Take::stop: self->end_stopped(); return;
            case AttemptOwner::Take::taken: break;
        }
        if (!self->owner_) return;  // cancelled from inside on_attempt_body (allowed)
        self->paused_ = false;
        self->held_.clear();
        self->process();
    });
}

void H1Attempt::new_parser() {
    parser_ = std::make_unique<Parser>(*this);
    head_bytes_ = 0;
    if (request_.method == "HEAD") parser_->skip(true);
}

// Its handler holds this attempt: the cycle ends when the race calls it or is cancelled.
void H1Attempt::stop_race() {
    if (!race_) return;
    race_->cancel();
    race_.reset();
}

void H1Attempt::open_fresh() {
    ++round_;  // a write still pending on the connection replaced here is stale
    conn_ = std::make_unique<H1Connection>(pool_.io());
    if (const auto* known = pool_.names().known(target_.origin)) {
        connect(*known);
        return;
    }
    error_code ec;
    const auto literal = asio::ip::make_address(target_.host, ec);
    if (!ec) {
        connect({tcp::endpoint(literal, target_.port)});
        return;
    }
    // A pending lookup does not keep the attempt: its owner does, or nobody needs the answer.
    looking_up_ = true;
    pool_.names().lookup(target_.host, target_.port,
                         [weak = weak_from_this()](const std::string& error,
                                                   const HostLookup::Addresses& addresses) {
                             const auto self = std::static_pointer_cast<H1Attempt>(weak.lock());
                             if (!self || !self->owner_) return;
                             self->looking_up_ = false;
                             if (!error.empty()) {
                                 self->end(unresolved(self->target_.host, error));
                                 return;
                             }
                             self->pool_.names().remember(self->target_.host, self->target_.port,
                                                          addresses);
                             self->connect(addresses);
                         });
}

void H1Attempt::connect(const std::vector<tcp::endpoint>& addresses) {
    race_ = AddressRace::start(
        pool_.io(), addresses,
        [self = self(), addresses](const error_code& ec, tcp::socket socket,
                                   const tcp::endpoint& used) {
            self->race_.reset();
            if (!self->owner_) return;
            if (ec == asio::error::timed_out) {  // the system's own connect timeout
                self->end(
                    GatewayError{ErrorType::timeout, "upstream timed out: could not connect to " +
                                                         self->target_.host + " port " +
                                                         std::to_string(self->target_.port)});
                return;
            }
            if (ec) {
                self->end(GatewayError{
                    ErrorType::connection,
                    "upstream connection failed: could not connect to " + self->target_.host +
                        " port " + std::to_string(self->target_.port) + ": " + ec.message()});
                return;
            }
            // The address that answered goes first next time.
            if (used != addresses.front()) self->pool_.names().prefer(self->target_.origin, used);
            self->conn_->socket = std::move(socket);
            error_code ignored;
            self->conn_->socket.set_option(tcp::no_delay(true), ignored);
            self->send();
        });
}

std::string_view H1Attempt::body() const {
    return request_.body ? std::string_view(*request_.body) : std::string_view();
}

// Part of the request is not written yet (on the connection in use): it is not reusable.
bool H1Attempt::unsent() const { return written_ < head_.size() + body().size(); }

void H1Attempt::send() {
    const std::string_view body = this->body();
    // Usually the request fits in the socket's buffer: written here and now. The answer is read
    // on the next turn, when it has had the time to come (a read started now would find nothing).
    const SendResult sent = send_now(conn_->socket.native_handle(), head_, body);
    if (sent.error != 0) {  // a connection that was already broken: replayed if it may be
        asio::post(pool_.io(), [self = self(), round = round_, error = sent.error] {
            if (!self->owner_ || round != self->round_) return;
            if (self->replay()) return;
            self->end(not_sent(error_code(error, boost::system::system_category()).message()));
        });
        return;
    }
    written_ = sent.written;
    if (!unsent()) {
        written_at_ = std::chrono::steady_clock::now();
        asio::post(pool_.io(), [self = self()] {
            if (self->owner_) self->read();
        });
        return;
    }
    // The rest whenever the socket takes more, and the answer read meanwhile: a server may answer
    // (413, 401) before it has read the body, and close. The read decides how the attempt ends.
    write_rest();
    read();
}

// Waits for room in the socket, then writes what it takes. Not asio::async_write: its steps go
// on writing to the socket after one that completed, and the connection may be gone by then
// (the answer came first, or a replay replaced it); a wait refers to nothing once it is done.
void H1Attempt::write_rest() {
    conn_->socket.async_wait(tcp::socket::wait_write, [self = self(),
                                                       round = round_](const error_code& ec) {
        if (!self->owner_ || round != self->round_) return;  // ended, or now on another connection
        if (ec) {
            self->stop_sending(ec.message());
            return;
        }
        const std::string_view body = self->body();
        const std::size_t in_head = std::min(self->written_, self->head_.size());
        const SendResult sent = send_now(self->conn_->socket.native_handle(),
                                         std::string_view(self->head_).substr(in_head),
                                         body.substr(self->written_ - in_head));
        if (sent.error != 0) {
            self->stop_sending(error_code(sent.error, boost::system::system_category()).message());
            return;
        }
        self->written_ += sent.written;
        if (!self->unsent()) {
            self->written_at_ = std::chrono::steady_clock::now();
            return;
        }
        self->write_rest();
    });
}

// The rest of the request cannot be written. The pending read ends the attempt: an answer that
// came is read first, then the end of the connection (shut down here, in case the error left it
// up, as ENOBUFS would) reports why nothing more was sent.
void H1Attempt::stop_sending(std::string why) {
    send_error_ = std::move(why);
    error_code ignored;
    conn_->socket.shutdown(tcp::socket::shutdown_both, ignored);
}

void H1Attempt::read() {
    conn_->socket.async_read_some(
        conn_->buffer.prepare(kReadSize), [self = self()](const error_code& ec, std::size_t n) {
            if (!self->owner_) return;
            const HeldClock clock;  // the answer's times, the pool's, the client's next deadline
            self->conn_->buffer.commit(n);
            if (n > 0) {
                self->answered_ = true;
                self->conn_->idle_since = steady_now();  // the pool's idle time starts here
            }
            if (ec == asio::error::eof) {
                self->eof_ = true;
            } else if (ec) {
                if (self->replay()) return;
                self->end(self->answered_ || self->send_error_.empty()
                              ? network(ec.message())
                              : not_sent(self->send_error_));
                return;
            }
            self->process();
        });
}

// What one read brought goes to the owner as one batch: an event stream's head and first
// event, or its last event and its end, leave in one write (as nginx writes what one read
// brought).
void H1Attempt::process() {
    auto keep = self();
    if (owner_) owner_->on_attempt_batch(true);
    const bool read_more = process_buffered();
    if (owner_) owner_->on_attempt_batch(false);  // written before the next read is tried
    if (read_more && owner_) read();              // not when the write found the client gone
}

// Parses what is buffered, as far as the owner takes it; then waits or ends, or says that
// the next read is due.
bool H1Attempt::process_buffered() {
    if (plain_done_) {  // its body was held back and has now been taken (resume)
        complete(plain_keep_alive_);
        return false;
    }
    if (!parser_->got_some() && request_.method != "HEAD" && take_plain()) return false;
    while (!parser_->is_done()) {
        error_code ec;
        const bool in_head = !parser_->is_header_done();
        if (in_head) {
            const bool parse_now = crlf_before_bare_lf(conn_->buffer);
            space_before_missing_reason(conn_->buffer);
            // Beast applies its limit from the first unparsed field on; the whole head counts.
            if (head_bytes_ + (parse_now ? 0 : conn_->buffer.size()) >= kMaxResponseHead) {
                end(response_head_too_large());
                return false;
            }
            if (!parse_now) {
                if (!eof_) return true;
                end(network("upstream closed the connection in the middle of the response head"));
                return false;
            }
            parser_->header_limit(static_cast<std::uint32_t>(kMaxResponseHead - head_bytes_));
        }
        const std::size_t used = parser_->put(conn_->buffer.data(), ec);
        if (!owner_) return false;  // cancelled from inside a callback
        conn_->buffer.consume(used);
        if (in_head) head_bytes_ += used;
        if (stopped_) {
            end_stopped();
            return false;
        }
        if (paused_) return false;  // resume() goes on
        if (refused_) {
            end(std::move(refused_));
            return false;
        }
        if (ec == http::error::need_more || (!ec && used == 0 && !parser_->is_done())) {
            // Beast 1.74 bounds neither a chunk-size line nor the trailers: we do.
            if (!in_head && conn_->buffer.size() >= kMaxResponseHead) {
                end(network("upstream sent an oversized chunk header or trailer section"));
                return false;
            }
            if (!eof_) return true;
            at_eof();
            return false;
        }
        if (ec) {
            if (ec == http::error::header_limit) {
                end(response_head_too_large());
            } else if (!parser_->is_header_done()) {
                end(malformed_response_head());
            } else {
                end(network("malformed response body: " + ec.message()));
            }
            return false;
        }
        if (parser_->is_done() && interim_) {  // 103 Early Hints and friends: not relayed
            interim_ = false;
            const std::size_t head_so_far = head_bytes_;
            new_parser();
            head_bytes_ = head_so_far;  // interim heads count towards the one limit
        }
    }
    complete(parser_->keep_alive() && !parser_->need_eof());
    return false;
}

// The whole answer in one pass, when it came whole and plain (the usual JSON answer); false
// leaves the buffer to Beast's parser. The owner sees the same calls in the same order.
bool H1Attempt::take_plain() {
    const auto data = conn_->buffer.data();
    const std::string_view bytes(static_cast<const char*>(data.data()), data.size());
    ResponseHead& head = parser_->head;
    const auto plain = parse_plain_response(bytes, head.headers);
    if (!plain) {
        head.headers.clear();
        return false;
    }
    head.status = plain->status;
    head.reason = plain->reason;
    head.http_version = "1.1";
    head.content_length = plain->content_length;
    plain_done_ = true;
    plain_keep_alive_ = plain->keep_alive;
    head_given_ = true;
    if (!owner_->on_attempt_head(head)) {
        if (owner_) end_stopped();
        return true;
    }
    if (!owner_) return true;  // cancelled from inside
    error_code ec;
    parsed_body(plain->body, ec);  // a paused chunk is copied to held_
    if (!owner_) return true;
    conn_->buffer.consume(plain->size);
    if (stopped_) {
        end_stopped();
        return true;
    }
    if (!paused_) complete(plain_keep_alive_);
    return true;
}

void H1Attempt::at_eof() {
    if (!answered_) {
        if (replay()) return;
        end(send_error_.empty() ? closed_without_answering() : not_sent(send_error_));
        return;
    }
    if (!parser_->got_some()) {  // only interim (1xx) answers came
        end(network("upstream closed the connection before its final answer"));
        return;
    }
    error_code ec;
    parser_->put_eof(ec);
    if (!owner_ || stopped_) return;
    if (!ec) {
        complete(parser_->keep_alive() && !parser_->need_eof());
    } else if (!parser_->is_header_done()) {
        end(network("upstream closed the connection in the middle of the response head"));
    } else {
        end(network("upstream closed the connection before the end of the response"));
    }
}

void H1Attempt::complete(bool keep_alive) {
    const bool reusable =
        keep_alive && !close_after_ && !eof_ && !unsent() && conn_->buffer.size() == 0;
    ++conn_->requests;
    if (reusable) pool_.give_back(target_.origin, std::move(conn_));
    end(std::nullopt);
}

// A kept-alive connection the upstream closed while it was idle: try once on a fresh one. Not
// all of the request written, the upstream cannot have acted on it. Written whole, it may have
// (the connection was not idle after all: a worker that died mid-completion), so only a
// request that is idempotent (RFC 9112 §9.3.1: by its method, or by an Idempotency-Key, as
// Go's client judges) is sent again, and only within a round trip or so of its last byte, as
// a stale connection fails; anything else fails this attempt, and the exchange's retries
// decide by method and policy, counted and logged. Before, a POST was sent again unseen.
bool H1Attempt::replay() {
    if (!reused_ || replayed_ || answered_ || conn_->buffer.size() > 0) return false;
    if (!unsent() && (!is_idempotent(request_) ||
                      std::chrono::steady_clock::now() - written_at_ > kReplayWithin)) {
        return false;
    }
    replayed_ = true;
    send_error_.clear();
    reused_ = false;
    eof_ = false;
    new_parser();
    open_fresh();
    return true;
}

// The owner said stop (from one of its callbacks); it knows why.
void H1Attempt::end_stopped() { end(GatewayError{ErrorType::unknown, "stopped"}); }

void H1Attempt::end(std::optional<GatewayError> error) {
    // Bytes of an answer came before its head failed (an interim 1xx and then the close, a
    // head cut, malformed or too large): the upstream has the request and may have acted on
    // it. Not an error before the answer, which the exchange retries and the background lane
    // falls back from: a POST sent again would be a second completion, paid for twice.
    if (error && answered_ && !head_given_) error->retry_cannot_help = true;
    AttemptOwner* owner = owner_;
    owner_ = nullptr;
    stop_race();
    conn_.reset();
    if (owner) owner->on_attempt_end(std::move(error));  // may destroy the owner's handle on us
}

void H1Attempt::parsed_head(error_code& ec) {
    const int status = parser_->head.status;
    if (!owner_) {
        ec = kInterrupted;
        return;
    }
    if (status < 100) {  // Beast takes any three digits: "HTTP/1.1 000" went out as "0"
        refused_ = malformed_response_head();
        ec = kInterrupted;
        return;
    }
    if (status / 100 == 1) {
        if (status == 101) {  // never asked for
            refused_ = unasked_protocol_switch();
            ec = kInterrupted;
            return;
        }
        interim_ = true;
        return;
    }
    if (const auto coding = parser_->head.headers.get("transfer-encoding")) {
        // Beast decodes chunked only: "gzip, chunked" reached the client unlabelled gzip,
        // "gzip" alone was framed by the close. The gateway never asks for one (no TE).
        if (!str::iequals(str::trim(*coding), "chunked")) {
            refused_ = GatewayError{ErrorType::network,
                                    "upstream used a transfer coding other "
                                    "than chunked: " +
                                        std::string(*coding),
                                    true};  // it answered: retry_cannot_help
            ec = kInterrupted;
            return;
        }
        // RFC 9112 §6.1: in an HTTP/1.0 message it is faulty framing; read, then closed.
        if (parser_->head.http_version == "1.0") close_after_ = true;
    }
    if (const auto length = parser_->content_length()) parser_->head.content_length = *length;
    head_given_ = true;
    if (!owner_->on_attempt_head(parser_->head)) {
        stopped_ = true;
        ec = kInterrupted;
    }
}

std::size_t H1Attempt::parsed_body(std::string_view chunk, error_code& ec) {
    if (!owner_) {
        ec = kInterrupted;
        return chunk.size();
    }
    if (chunk.empty()) return 0;
    switch (owner_->on_attempt_body(chunk)) {
        case AttemptOwner::Take::taken:
            break;
        case AttemptOwner::Take::paused:
            held_.assign(chunk);
            paused_ = true;
            ec = kInterrupted;
            break;
        case AttemptOwner::Take::stop:
            stopped_ = true;
            ec = kInterrupted;
            break;
    }
    return chunk.size();
}

}  // namespace llmgw::upstream
