#include "call_sink.hpp"

#include <cerrno>
#include <cstring>
#include <nlohmann/json.hpp>
#include <ostream>

#include "server/handler.hpp"
#include "util/strings.hpp"
#include "util/terminal_text.hpp"

namespace llmgw::cli {

namespace {

// A gateway's error body is small; anything larger is passed on as the answer it is.
constexpr std::size_t kGatewayErrorMax = 64 * 1024;

constexpr ErrorType kAllErrorTypes[] = {
    ErrorType::timeout,    ErrorType::network,    ErrorType::dns,         ErrorType::connection,
    ErrorType::ssl,        ErrorType::size_limit, ErrorType::bad_request, ErrorType::not_found,
    ErrorType::overloaded, ErrorType::unknown};

std::optional<ErrorType> error_type_named(std::string_view name) {
    for (const ErrorType type : kAllErrorTypes) {
        if (to_string(type) == name) return type;
    }
    return std::nullopt;
}

bool is_network_class(ErrorType type) {
    return type == ErrorType::timeout || type == ErrorType::dns || type == ErrorType::connection ||
           type == ErrorType::ssl || type == ErrorType::network;
}

std::string head_text(const upstream::ResponseHead& head) {
    std::string out =
        "HTTP/" + (head.http_version.empty() ? std::string("1.1") : head.http_version);
    out += ' ' + std::to_string(head.status);
    // The reason phrase as the upstream sent it, none when it sent none (as curl -i prints
    // the status line); HTTP/2 and later have none.
    if (!head.reason.empty() && (head.http_version.empty() || head.http_version.starts_with("1"))) {
        out += ' ';
        out += head.reason;
    }
    out += "\r\n";
    for (const HeaderField field : head.headers) {
        out.append(field.name).append(": ").append(field.value).append("\r\n");
    }
    out += "\r\n";
    return out;
}

}  // namespace

CallSink::CallSink(CallSinkOptions options, Output& out, std::ostream& err,
                   std::function<void()> stop, std::function<void()> marker_seen)
    : options_(std::move(options)),
      out_(out),
      err_(err),
      stop_(std::move(stop)),
      marker_seen_(std::move(marker_seen)) {}

void CallSink::on_head(const upstream::ResponseHead& head) {
    http_status_ = head.status;
    if (const auto id = head.headers.get("x-gateway-request-id"); options_.via && id) {
        options_.request_id = std::string(*id);  // errors then name the gateway's log line
        gateway_request_id_ = options_.request_id;
    }
    const std::string_view type = head.headers.get("content-type").value_or("");
    textstream::TextStream::Options body;
    body.event_stream = str::icontains(type, "text/event-stream");
    event_stream_ = body.event_stream && !server::has_content_coding(head.headers);
    body.json_lines = str::icontains(type, "ndjson") || str::icontains(type, "jsonl");
    // An error answer is shown as it is: its text is the error, not generated text.
    body.mode = options_.text && head.status < 400 ? textstream::TextStream::Mode::text
                                                   : textstream::TextStream::Mode::raw;
    body_.emplace(body);
    hold_for_gateway_error_ = options_.via && head.status >= 400 && str::icontains(type, "json");
    routed_ = options_.via && head.headers.contains("X-Processing-Mode");
    if (options_.include) write_out(head_text(head));
}

bool CallSink::on_body(std::string_view chunk) {
    if (output_error_ != 0 || ended_) return false;  // ended: at its end marker
    if (hold_for_gateway_error_) {
        held_.append(chunk);
        if (held_.size() > kGatewayErrorMax) {
            hold_for_gateway_error_ = false;
            pass_body(held_);
            held_.clear();
        }
    } else {
        pass_body(chunk);
    }
    if (event_stream_) boundary_.relayed(chunk);
    if (!marker_told_ && marker_seen_ && body_->reached_end_marker()) {
        marker_told_ = true;
        marker_seen_();
    }
    return output_error_ == 0;  // false pauses the transfer until stop_ cancels it
}

std::size_t CallSink::take_at_limit(std::string_view allowed) {
    if (!event_stream_ || output_error_ != 0) return 0;
    const std::size_t take = boundary_.through_last_event_end(allowed);
    if (take > 0) on_body(allowed.substr(0, take));
    return take;
}

void CallSink::pass_body(std::string_view chunk) {
    scratch_.clear();
    body_->feed(chunk, scratch_);
    write_body(scratch_, false);
    print_notes();
}

// Text a model wrote (which a prompt can steer) goes to a terminal: an escape sequence in it
// could set the window title, write the clipboard (OSC 52) or hide what came before. Control
// characters but newline and tab, and C1 controls (U+0080-U+009F), are shown as U+FFFD.
void CallSink::write_body(std::string& bytes, bool last) {
    if (options_.text && options_.terminal) {
        // A C1 control is two bytes, which a chunk of a raw body may split: a trailing 0xC2
        // waits for the next one.
        if (held_c2_) {
            bytes.insert(bytes.begin(), '\xC2');
            held_c2_ = false;
        }
        if (!last && !bytes.empty() && bytes.back() == '\xC2') {
            bytes.pop_back();
            held_c2_ = true;
        }
        bytes = without_controls(bytes);
    }
    write_out(bytes);
}

void CallSink::on_end(const upstream::ExchangeOutcome& outcome) {
    if (ended_) return;  // at its end marker (end_at_marker)
    ended_ = true;
    if (output_error_ != 0) {
        status_ = output_status();
    } else if (outcome.error && !outcome.head_delivered) {
        if (options_.via && outcome.error->type == ErrorType::connection) {
            // The gateway itself is what could not be reached, not the service behind it.
            // (Before the JSON error, which stays the last line.)
            err_ << "llmgw: the gateway --via names did not answer: is 'llmgw serve' running "
                    "there?\n";
        }
        err_ << safe_line(error_body(*outcome.error, options_.request_id)) << '\n';
        status_ = status_for_error(*outcome.error);
    } else if (hold_for_gateway_error_ && report_gateway_error()) {
        // status_ was set from the gateway's error type
    } else {
        finish_body(outcome.error ? Transfer::failed : Transfer::whole);
        if (outcome.error && !(body_ && body_->reached_end_marker())) {
            err_ << safe_line(error_body(*outcome.error, options_.request_id)) << '\n';
            status_ = exit_cut;
        } else {
            // After its end marker the answer is whole, as the SDKs read it (as a stream held
            // open after it, end_at_marker); how its transfer ended is a notice.
            if (outcome.error && !options_.quiet) {
                err_ << "llmgw: the stream's transfer failed after its end marker ("
                     << safe_line(outcome.error->message) << "): the answer is whole\n";
            }
            status_ = status_of_answer();
        }
        if (output_error_ != 0) status_ = output_status();
    }
    stop_();
}

void CallSink::end_at_marker(std::chrono::milliseconds waited) {
    if (ended_ || !body_) return;
    ended_ = true;
    if (!options_.quiet) {
        err_ << "llmgw: the upstream kept the stream open " << waited.count()
             << " ms after its end marker: it ends there\n";
    }
    finish_body(Transfer::whole);
    status_ = status_of_answer();
    if (output_error_ != 0) status_ = output_status();
    stop_();
}

// The rest of the body: what was held for a gateway's error, and what finishing the text
// stream gives (a JSON body's text, the last newline), with its notes.
void CallSink::finish_body(Transfer transfer) {
    if (!held_.empty()) pass_body(held_);
    scratch_.clear();
    if (body_) body_->finish(scratch_, transfer);
    write_body(scratch_, true);
    print_notes();
}

// The exit status of an answer that came (saying why on stderr when it was cut short).
int CallSink::status_of_answer() {
    if (http_status_ >= 400) return 1;
    if (const std::string cut = body_ ? body_->cut_reason() : ""; !cut.empty()) {
        err_ << "llmgw: " << cut << '\n';
        return exit_cut;
    }
    if (stream_error_) return exit_cut;  // the answer is not whole, even with its end marker after
    return 0;
}

void CallSink::on_retry(int next_attempt, std::string_view why, std::int64_t delay_ms) {
    if (options_.quiet) return;
    constexpr std::string_view kAnswered = "upstream answered ";
    if (why.starts_with(kAnswered)) why.remove_prefix(kAnswered.size());
    err_ << "llmgw: retrying after " << why << " (attempt " << next_attempt << " in " << delay_ms
         << " ms)\n";
}

void CallSink::write_out(std::string_view bytes) {
    if (bytes.empty() || output_error_ != 0) return;
    output_error_ = out_.write(bytes);
    if (output_error_ == 0) return;
    // A reader that went away is no error of its own (141, as a SIGPIPE would give), nor a
    // signal (128 + its number); a deadline that passed while the reader took nothing cut the
    // answer (4); anything else lost output the user expected to have (a full disk): said, and
    // 23, as curl does.
    if (output_error_ == ETIMEDOUT) {
        err_ << "llmgw: the deadline passed while standard output took nothing (its reader "
                "stopped reading); the answer is cut\n";
    } else if (output_error_ != EPIPE && output_error_ != EINTR) {
        err_ << "llmgw: cannot write to standard output: " << std::strerror(output_error_) << '\n';
    }
    status_ = output_status();
    stop_();
}

int CallSink::output_status() const {
    switch (output_error_) {
        case EPIPE:
            return exit_output_closed;
        case EINTR:
            return exit_interrupted;  // run_exchange() gives 128 + the signal's number
        case ETIMEDOUT:
            return exit_cut;
        default:
            return exit_write_error;
    }
}

void CallSink::print_notes() {
    if (!body_) return;
    for (const textstream::Note& note : body_->take_notes()) {
        stream_error_ = stream_error_ || note.error;
        // A note may quote the upstream (an error event's message): one line, no escape
        // sequence for the terminal, no forged "llmgw:" line.
        if (note.error || !options_.quiet) err_ << "llmgw: " << safe_line(note.text) << '\n';
    }
}

int CallSink::status_for_error(const GatewayError& error) const {
    if (is_network_class(error.type)) return exit_network;
    if (error.type == ErrorType::size_limit) return exit_cut;
    return 1;
}

bool CallSink::report_gateway_error() {
    const auto error = parse_gateway_error(held_, http_status_, gateway_request_id_);
    if (!error) return false;
    // The gateway puts X-Processing-Mode on every answer to a request it routed, its own errors
    // included (an answer over its size limit, by Content-Length or not). A SIZE_LIMIT without
    // it refused the request's body before anything went upstream: an HTTP error, not a cut
    // answer. Both come as a whole 413 before anything else, so only the field tells them apart.
    const bool body_refused = error->type == ErrorType::size_limit && !routed_;
    if (body_refused) {
        err_ << "llmgw: the gateway --via names refused the request: its body is over the "
                "gateway's max_request_bytes\n";
    }
    err_ << safe_line(str::trim(held_)) << '\n';
    status_ = body_refused ? 1 : status_for_error(*error);
    return true;
}

std::optional<GatewayError> parse_gateway_error(std::string_view body, int http_status,
                                                std::string_view gateway_request_id) {
    const auto doc =
        nlohmann::json::parse(body.begin(), body.end(), nullptr, /*allow_exceptions=*/false);
    if (!doc.is_object()) return std::nullopt;
    const auto status = doc.find("status");
    const auto error = doc.find("error");
    if (status == doc.end() || !status->is_number_integer() || *status != http_status ||
        error == doc.end() || !error->is_object()) {
        return std::nullopt;
    }
    const auto type = error->find("type");
    const auto message = error->find("message");
    const auto id = error->find("request_id");
    if (type == error->end() || !type->is_string() || message == error->end() ||
        !message->is_string() || id == error->end() || !id->is_string() ||
        gateway_request_id.empty() || *id != gateway_request_id) {
        return std::nullopt;
    }
    const auto known = error_type_named(type->get<std::string>());
    if (!known) return std::nullopt;
    return GatewayError{*known, message->get<std::string>()};
}

}  // namespace llmgw::cli
