#include "upstream/exchange.hpp"

#include <string>
#include <vector>

#include "upstream/classify.hpp"
#include "upstream/easy_pool.hpp"
#include "upstream/retry.hpp"
#include "util/strings.hpp"

namespace llmgw::upstream {

namespace {

using std::chrono::milliseconds;
constexpr std::size_t kMaxResponseHead = 64 * 1024;

double ms_between(std::chrono::steady_clock::time_point a, std::chrono::steady_clock::time_point b) {
    return std::chrono::duration<double, std::milli>(b - a).count();
}

std::string describe(CURLcode code, const char* detail) {
    std::string text = (detail && *detail) ? std::string(detail) : curl_easy_strerror(code);
    switch (classify(code)) {
        case ErrorType::timeout: return "upstream timed out: " + text;
        case ErrorType::dns: return "upstream host could not be resolved: " + text;
        case ErrorType::connection: return "upstream connection failed: " + text;
        case ErrorType::ssl: return "upstream TLS failure: " + text;
        case ErrorType::network: return "upstream network error: " + text;
        default: return "upstream request failed: " + text;
    }
}

}  // namespace

class Exchange::Completion : public CurlCompletion {
public:
    explicit Completion(Exchange& exchange) : exchange_(exchange) {}
    void on_curl_done(CURLcode result) override;
    char error_buffer[CURL_ERROR_SIZE] = {};

private:
    Exchange& exchange_;
};

std::shared_ptr<Exchange> Exchange::start(CurlMulti& multi, UpstreamRequest request,
                                          const RequestPolicy& policy, ExchangeSink& sink) {
    auto exchange = std::make_shared<Exchange>(multi, std::move(request), policy, sink);
    exchange->launch_attempt();
    return exchange;
}

Exchange::Exchange(CurlMulti& multi, UpstreamRequest request, const RequestPolicy& policy,
                   ExchangeSink& sink)
    : multi_(multi),
      request_(std::move(request)),
      policy_(policy),
      sink_(&sink),
      completion_(std::make_unique<Completion>(*this)),
      deadline_timer_(multi.io()),
      idle_timer_(multi.io()),
      backoff_timer_(multi.io()),
      started_(Clock::now()) {
    const std::int64_t head_budget =
        policy_.total_timeout_ms > 0 ? policy_.total_timeout_ms : policy_.headers_timeout_ms;
    headers_deadline_ = started_ + milliseconds(head_budget);
    if (policy_.total_timeout_ms > 0) total_deadline_ = started_ + milliseconds(policy_.total_timeout_ms);
}

Exchange::~Exchange() { cancel(); }

void Exchange::cancel() {
    sink_ = nullptr;
    finished_ = true;
    deadline_timer_.cancel();
    idle_timer_.cancel();
    backoff_timer_.cancel();
    if (easy_) {
        multi_.remove(easy_);
        release_easy();
    }
}

void Exchange::resume() {
    if (!paused_ || !easy_) return;
    paused_ = false;
    last_activity_ = Clock::now();
    arm_idle();
    // May deliver the held chunk right here, through on_write.
    curl_easy_pause(easy_, CURLPAUSE_CONT);
    multi_.kick();
}

void Exchange::launch_attempt() {
    ++outcome_.attempts;
    parser_.reset();
    head_bytes_ = 0;
    pending_error_.reset();
    retry_reason_.reset();
    completion_->error_buffer[0] = '\0';
    easy_ = acquire_easy();
    if (!easy_ || !configure(easy_) || !multi_.add(easy_, completion_.get())) {
        release_easy();
        finish(GatewayError{ErrorType::unknown, "could not start the upstream request"});
        return;
    }
    arm_deadline(headers_deadline_, "upstream sent no response headers within " +
                                        std::to_string(policy_.total_timeout_ms > 0
                                                           ? policy_.total_timeout_ms
                                                           : policy_.headers_timeout_ms) +
                                        " ms");
}

bool Exchange::configure(CURL* easy) {
    curl_easy_setopt(easy, CURLOPT_URL, request_.url.c_str());
    curl_easy_setopt(easy, CURLOPT_PATH_AS_IS, 1L);
    curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(easy, CURLOPT_BUFFERSIZE, 64L * 1024L);
    curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, completion_->error_buffer);
    curl_easy_setopt(easy, CURLOPT_HEADERFUNCTION, &Exchange::on_header_line);
    curl_easy_setopt(easy, CURLOPT_HEADERDATA, this);
    curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, &Exchange::on_write);
    curl_easy_setopt(easy, CURLOPT_WRITEDATA, this);

    const std::string& method = request_.method;
    const bool has_body = request_.body && !request_.body->empty();
    if (method == "HEAD") {
        curl_easy_setopt(easy, CURLOPT_NOBODY, 1L);
    } else if (method == "GET" && !has_body) {
        curl_easy_setopt(easy, CURLOPT_HTTPGET, 1L);
    } else if (has_body || method == "POST" || method == "PUT" || method == "PATCH") {
        static const std::string empty;
        const std::string& body = request_.body ? *request_.body : empty;
        curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
        curl_easy_setopt(easy, CURLOPT_POSTFIELDS, body.data());
        if (method != "POST") curl_easy_setopt(easy, CURLOPT_CUSTOMREQUEST, method.c_str());
    } else {
        curl_easy_setopt(easy, CURLOPT_CUSTOMREQUEST, method.c_str());
    }

    // curl would add Accept, Expect and a form Content-Type of its own: an empty value
    // ("Name:") tells it not to, so only the client's headers go upstream.
    curl_slist* list = nullptr;
    std::string line;
    for (const HeaderField& f : request_.headers) {
        if (str::iequals(f.name, "expect")) continue;  // 100-continue is answered by us
        line.assign(f.name);
        line += f.value.empty() ? ";" : ": ";
        line += f.value;
        list = curl_slist_append(list, line.c_str());
    }
    if (!request_.headers.contains("accept")) list = curl_slist_append(list, "Accept:");
    if (!request_.headers.contains("content-type")) list = curl_slist_append(list, "Content-Type:");
    list = curl_slist_append(list, "Expect:");
    header_list_ = list;
    curl_easy_setopt(easy, CURLOPT_HTTPHEADER, header_list_);
    return list != nullptr;
}

std::size_t Exchange::on_header_line(char* data, std::size_t size, std::size_t n, void* self) {
    auto* ex = static_cast<Exchange*>(self);
    const std::size_t len = size * n;
    if (ex->finished_) return 0;
    // Clients (Node, h11, nginx) refuse heads much larger than this; refuse them here with a
    // clear 502 rather than relay something the SDK cannot parse.
    ex->head_bytes_ += len;
    if (ex->head_bytes_ > kMaxResponseHead) {
        ex->pending_error_ = GatewayError{ErrorType::network,
                                          "upstream response head exceeds " +
                                              std::to_string(kMaxResponseHead / 1024) + " KiB"};
        return 0;
    }
    switch (ex->parser_.feed(std::string_view(data, len))) {
        case HeadParser::Step::bad:
            ex->pending_error_ = GatewayError{ErrorType::network, "upstream sent a malformed response head"};
            return 0;
        case HeadParser::Step::complete:
            return ex->handle_head() == 0 ? 0 : len;
        case HeadParser::Step::more:
            return len;
    }
    return len;
}

std::size_t Exchange::handle_head() {
    ResponseHead& head = parser_.head();
    const std::int64_t max_after = policy_.retry.max_retry_after_ms;
    std::optional<std::int64_t> retry_after;
    if (const auto value = head.headers.get("retry-after")) {
        retry_after = parse_retry_after_ms(*value, std::chrono::system_clock::now());
    }
    if (is_retryable_status(head.status, retry_after, max_after)) {
        const std::int64_t delay = next_delay_ms(retries_done_ + 1, retry_after, max_after);
        if (retry_allowed(delay)) {
            retry_reason_ = "upstream answered " + std::to_string(head.status);
            retry_delay_ms_ = delay;
            return 0;  // abort this attempt; attempt_ended() schedules the next
        }
    }
    const std::uint64_t limit = policy_.max_response_bytes;
    if (limit > 0 && head.content_length && *head.content_length > limit) {
        pending_error_ = GatewayError{
            ErrorType::size_limit, "upstream response of " + std::to_string(*head.content_length) +
                                       " bytes exceeds the limit of " + std::to_string(limit) +
                                       " bytes"};
        return 0;
    }
    deadline_timer_.cancel();
    if (total_deadline_) arm_deadline(*total_deadline_, "upstream exchange exceeded its total time of " +
                                                            std::to_string(policy_.total_timeout_ms) + " ms");
    outcome_.head_delivered = true;
    outcome_.ttfb_ms = ms_between(started_, Clock::now());
    last_activity_ = Clock::now();
    arm_idle();
    if (sink_) sink_->on_head(head);
    return 1;
}

std::size_t Exchange::on_write(char* data, std::size_t size, std::size_t n, void* self) {
    auto* ex = static_cast<Exchange*>(self);
    const std::size_t len = size * n;
    if (ex->finished_ || !ex->sink_ || ex->pending_error_) return 0;
    return ex->handle_body(std::string_view(data, len));
}

std::size_t Exchange::handle_body(std::string_view chunk) {
    const std::uint64_t limit = policy_.max_response_bytes;
    if (limit > 0 && outcome_.body_bytes + chunk.size() > limit) {
        pending_error_ = GatewayError{ErrorType::size_limit, "upstream response passed the limit of " +
                                                                 std::to_string(limit) + " bytes"};
        return 0;
    }
    if (!sink_->on_body(chunk)) {
        paused_ = true;
        return CURL_WRITEFUNC_PAUSE;
    }
    outcome_.body_bytes += chunk.size();
    last_activity_ = Clock::now();
    return chunk.size();
}

void Exchange::Completion::on_curl_done(CURLcode result) {
    Exchange& ex = exchange_;
    auto self = ex.shared_from_this();
    ex.release_easy();
    if (ex.retry_reason_) {
        ex.schedule_retry(*ex.retry_reason_, ex.retry_delay_ms_);
        return;
    }
    if (ex.pending_error_) {
        ex.attempt_ended(ex.pending_error_);
    } else if (result != CURLE_OK) {
        ex.attempt_ended(GatewayError{classify(result), describe(result, error_buffer)});
    } else {
        ex.attempt_ended(std::nullopt);
    }
}

bool Exchange::retry_allowed(std::int64_t delay_ms) const {
    if (!policy_.retry.enabled || retries_done_ >= policy_.retry.max_retries) return false;
    return Clock::now() + milliseconds(delay_ms) < headers_deadline_;
}

void Exchange::attempt_ended(std::optional<GatewayError> error) {
    if (error && !outcome_.head_delivered && is_retryable(error->type)) {
        const std::int64_t delay = backoff_delay_ms(retries_done_ + 1);
        if (retry_allowed(delay)) {
            schedule_retry(std::string(to_string(error->type)) + ": " + error->message, delay);
            return;
        }
    }
    finish(std::move(error));
}

void Exchange::schedule_retry(const std::string& why, std::int64_t delay_ms) {
    deadline_timer_.cancel();
    ++retries_done_;
    if (sink_) sink_->on_retry(outcome_.attempts + 1, why, delay_ms);
    backoff_timer_.expires_after(milliseconds(delay_ms));
    backoff_timer_.async_wait([weak = weak_from_this()](const boost::system::error_code& ec) {
        auto self = weak.lock();
        if (ec || !self || self->finished_) return;
        self->launch_attempt();
    });
}

void Exchange::arm_deadline(Clock::time_point at, std::string message) {
    deadline_timer_.expires_at(at);
    deadline_timer_.async_wait([weak = weak_from_this(), message = std::move(message)](
                                   const boost::system::error_code& ec) {
        auto self = weak.lock();
        if (ec || !self || self->finished_) return;
        self->abort_attempt(GatewayError{ErrorType::timeout, message});
    });
}

// One timer per stream, re-armed only when it fires: a chunk just records the time.
void Exchange::arm_idle() {
    if (policy_.idle_timeout_ms <= 0 || idle_armed_) return;
    idle_armed_ = true;
    idle_timer_.expires_at(last_activity_ + milliseconds(policy_.idle_timeout_ms));
    idle_timer_.async_wait([weak = weak_from_this()](const boost::system::error_code& ec) {
        auto self = weak.lock();
        if (!self) return;
        self->idle_armed_ = false;
        if (ec || self->finished_ || !self->easy_) return;
        if (self->paused_) return;  // a slow client is not a silent upstream; resume() re-arms
        const auto due = self->last_activity_ + milliseconds(self->policy_.idle_timeout_ms);
        if (Clock::now() < due) {
            self->arm_idle();
            return;
        }
        self->abort_attempt(GatewayError{
            ErrorType::timeout, "upstream sent nothing for " +
                                    std::to_string(self->policy_.idle_timeout_ms) + " ms"});
    });
}

void Exchange::abort_attempt(GatewayError error) {
    if (!easy_) return;
    auto self = shared_from_this();
    multi_.remove(easy_);
    release_easy();
    attempt_ended(std::move(error));
}

void Exchange::finish(std::optional<GatewayError> error) {
    if (finished_) return;
    finished_ = true;
    deadline_timer_.cancel();
    idle_timer_.cancel();
    backoff_timer_.cancel();
    outcome_.error = std::move(error);
    outcome_.retried_error = outcome_.error.has_value() && retries_done_ > 0;
    ExchangeSink* sink = sink_;
    sink_ = nullptr;
    auto self = shared_from_this();
    if (sink) sink->on_end(outcome_);
}

void Exchange::release_easy() {
    if (easy_) {
        release_easy_handle(easy_);
        easy_ = nullptr;
    }
    if (header_list_) {
        curl_slist_free_all(header_list_);
        header_list_ = nullptr;
    }
}

}  // namespace llmgw::upstream
