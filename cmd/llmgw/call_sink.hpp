// The receiving half of `llmgw call`: takes the upstream's answer from the shared Exchange,
// writes it to stdout as it arrives (the head first with -i; only the text with --text),
// diagnostics to stderr, and decides the exit status.
#pragma once

#include <chrono>
#include <functional>
#include <iosfwd>
#include <optional>
#include <string>
#include <string_view>

#include "fd_output.hpp"
#include "textstream/event_boundary.hpp"
#include "textstream/text_stream.hpp"
#include "upstream/exchange.hpp"

namespace llmgw::cli {

// Exit statuses of `llmgw call` beyond the shared ones (common.hpp).
enum CallExit : int {
    exit_network = 3,  // TIMEOUT, DNS, CONNECTION, SSL, NETWORK before a response
    exit_cut = 4,      // cut at the size limit, broken mid-way, or ended before its marker
    exit_interrupted = 130,
    exit_output_closed = 141,  // stdout's reader went away, as if killed by SIGPIPE
    exit_write_error = 23,     // stdout could not be written (a full disk, …), as curl says
};

struct CallSinkOptions {
    bool include = false;  // -i: status line and headers first
    bool text = false;     // --text
    bool quiet = false;    // no warnings or retry notices
    bool via = false;      // the answer comes from a gateway (its own errors are recognised)
    std::string request_id;
    bool terminal = false;  // stdout is a terminal: --text output carries no control characters
};

class CallSink : public upstream::ExchangeSink {
  public:
    // `stop` is called (from the event loop, never inside a curl callback) when the exchange
    // should be cancelled or has ended and the loop can stop. `marker_seen` is called once,
    // from inside the transfer, when a stream's end marker came (end_at_marker).
    CallSink(CallSinkOptions options, Output& out, std::ostream& err, std::function<void()> stop,
             std::function<void()> marker_seen = {});

    void on_head(const upstream::ResponseHead& head) override;
    bool on_body(std::string_view chunk) override;
    // An event stream about to pass its size limit is printed through its last whole event
    // within it, as serve relays it; any other answer stops where the piece before ended.
    std::size_t take_at_limit(std::string_view allowed) override;
    void on_end(const upstream::ExchangeOutcome& outcome) override;
    // The stream's end marker came a while ago and its transfer has not ended (an upstream
    // that keeps it open): the answer ends there, whole, as the SDKs read it, with a notice.
    void end_at_marker(std::chrono::milliseconds waited);
    void on_retry(int next_attempt, std::string_view why, std::int64_t delay_ms) override;

    // The exit status once the exchange ended or was stopped.
    int exit_status() const { return status_; }
    bool ended() const { return ended_; }

  private:
    void write_out(std::string_view bytes);
    // write_out, after --text's terminal safety; `last`: no more body follows.
    void write_body(std::string& bytes, bool last);
    int output_status() const;  // the exit status once stdout failed
    void print_notes();
    using Transfer = textstream::TextStream::Transfer;
    void finish_body(Transfer transfer);
    int status_of_answer();
    void pass_body(std::string_view chunk);
    int status_for_error(const GatewayError& error) const;
    bool report_gateway_error();

    CallSinkOptions options_;
    Output& out_;
    std::ostream& err_;
    std::function<void()> stop_;
    std::optional<textstream::TextStream> body_;
    bool event_stream_ = false;
    textstream::EventBoundary boundary_;  // where the event stream printed so far stands
    std::string scratch_;
    int http_status_ = 0;
    bool hold_for_gateway_error_ = false;  // --via: a JSON error body may be the gateway's own
    bool routed_ = false;                  // --via: the answer has X-Processing-Mode
    std::string gateway_request_id_;        // --via: the answer's X-Gateway-Request-Id
    std::string held_;
    bool held_c2_ = false;       // a trailing 0xC2, written with the next body bytes
    bool stream_error_ = false;  // the stream reported an error (an error event)
    int output_error_ = 0;       // why stdout took no more: Output::write()'s errno
    bool ended_ = false;
    std::function<void()> marker_seen_;
    bool marker_told_ = false;  // marker_seen_ was called
    int status_ = 1;
};

// A gateway-made error body ({"error":{"type":…,"message":…,"request_id":…},"status":N}),
// recognised by its shape and its request_id, the X-Gateway-Request-Id of the answer it came
// in; nullopt for anything else, such as an upstream's own error (of the same shape when the
// upstream is another llmgw, but with the id of its own request).
std::optional<GatewayError> parse_gateway_error(std::string_view body, int http_status,
                                                std::string_view gateway_request_id);

}  // namespace llmgw::cli
