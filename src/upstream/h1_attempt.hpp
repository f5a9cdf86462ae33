// An attempt carried by the native HTTP/1.1 client: plain TCP to an `http://` upstream, on a
// kept-alive connection from the loop's H1Pool when there is one. The request head is written
// with its body in one system call; the answer is parsed where it was read and body bytes go
// to the owner without a copy. A reused connection that dies before any byte of the answer is
// replaced by a fresh one once (what libcurl does) while the request is not all written, or
// is idempotent and was written whole within a second: a POST written whole may have been
// acted on, so for it a stale keep-alive is an error (a retry's to send it again).
// cancel() may be called from inside the owner's callbacks.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "upstream/attempt.hpp"
#include "upstream/h1_pool.hpp"
#include "upstream/h1_url.hpp"

namespace llmgw::upstream {

class AddressRace;

class H1Attempt final : public Attempt {
public:
    H1Attempt(H1Pool& pool, H1Target target, const UpstreamRequest& request, AttemptOwner& owner);
    ~H1Attempt() override;
    H1Attempt(const H1Attempt&) = delete;
    H1Attempt& operator=(const H1Attempt&) = delete;

    void start() override;
    void resume() override;
    void cancel() override;
    std::string looking_up() const override { return looking_up_ ? target_.host : std::string(); }

private:
    class Parser;
    friend class Parser;

    void open_fresh();
    void stop_race();
    void connect(const std::vector<boost::asio::ip::tcp::endpoint>& addresses);
    void send();
    void write_rest();
    void stop_sending(std::string why);
    std::string_view body() const;
    bool unsent() const;
    void read();
    void process();
    bool process_buffered();
    bool take_plain();
    void at_eof();
    void complete(bool keep_alive);
    bool replay();
    void end(std::optional<GatewayError> error);
    void end_stopped();
    void new_parser();
    void parsed_head(boost::system::error_code& ec);
    std::size_t parsed_body(std::string_view chunk, boost::system::error_code& ec);
    std::shared_ptr<H1Attempt> self();

    H1Pool& pool_;
    H1Target target_;
    const UpstreamRequest& request_;
    AttemptOwner* owner_;
    std::unique_ptr<H1Connection> conn_;
    std::shared_ptr<AddressRace> race_;  // connecting conn_ (a fresh connection) while set
    std::size_t head_bytes_ = 0;  // of the response head being parsed, consumed so far
    std::unique_ptr<Parser> parser_;
    std::string head_;        // the request head, kept for a replay
    std::string held_;        // a body chunk the owner could not take yet
    std::optional<GatewayError> refused_;  // an answer this client will not relay
    bool reused_ = false;     // conn_ came from the pool
    bool replayed_ = false;
    // When the last byte of the request was written: a reused connection that fails later than
    // kReplayWithin after it is not a stale one, and the upstream may have acted on the request.
    std::chrono::steady_clock::time_point written_at_;
    bool paused_ = false;
    bool stopped_ = false;    // the owner said stop
    bool eof_ = false;        // the upstream closed its side
    bool close_after_ = false;  // faulty framing (HTTP/1.0 with Transfer-Encoding): not pooled
    bool answered_ = false;   // a byte of an answer (even a 1xx) arrived: never replay then
    bool head_given_ = false;  // the final head went to the owner
    bool interim_ = false;    // the head being parsed is a 1xx
    bool plain_done_ = false; // the answer was read by the plain pass (parse_plain_response)
    bool plain_keep_alive_ = false;
    bool looking_up_ = false;  // waiting for the addresses of target_.host
    // A request too big for the socket's buffer is written while its answer is read: a server
    // may answer (413, 401) before it has read the body, and close.
    std::size_t written_ = 0;  // bytes of head_ and then the body written on this connection
    std::string send_error_;   // why the rest could not be written, for an attempt never answered
    std::uint32_t round_ = 0;  // changes with each connection: a wait for the replaced one is stale
};

}  // namespace llmgw::upstream
