#include "upstream/curl_attempt.hpp"

#include <boost/asio/post.hpp>
#include <string>
#include <string_view>
#include <utility>

#include "upstream/ca_trust.hpp"
#include "upstream/classify.hpp"
#include "upstream/easy_pool.hpp"
#include "upstream/libcurl.hpp"
#include "upstream/limits.hpp"
#include "util/redact.hpp"
#include "util/strings.hpp"

namespace llmgw::upstream {

namespace {

std::string describe(CURLcode code, const char* detail) {
    // libcurl quotes a proxy URL it cannot use whole ("Unsupported proxy scheme for
    // 'htp://user:password@proxy'"): the message goes to clients and logs.
    std::string text = redact_userinfo_in_message(
        (detail && *detail) ? std::string_view(detail) : libcurl().easy_strerror(code));
    switch (classify(code)) {
        case ErrorType::timeout: return "upstream timed out: " + text;
        case ErrorType::dns: return "upstream host could not be resolved: " + text;
        case ErrorType::connection: return "upstream connection failed: " + text;
        case ErrorType::ssl:
            // OpenSSL's and GnuTLS's words for an answer that is not TLS at all: say what
            // usually causes it.
            if (text.find("wrong version number") != std::string::npos ||
                text.find("unexpected TLS packet") != std::string::npos)
                text += " (the upstream answered without TLS: does it take http://?)";
            return "upstream TLS failure: " + text;
        case ErrorType::network: return "upstream network error: " + text;
        default: return "upstream request failed: " + text;
    }
}

// "+": an entry of CURLOPT_RESOLVE ages out of libcurl's DNS cache as its own lookups do
// (7.75.0 and later), rather than staying for any later transfer to that host and port. Each
// transfer hands its own.
#if LIBCURL_VERSION_NUM >= 0x074b00
constexpr std::string_view kAgesOut = "+";
#else
constexpr std::string_view kAgesOut;
#endif

// CURLOPT_RESOLVE's "[+]host:port:address[,address]" for what HostLookup found, in its order.
// Addresses with a scope ("fe80::1%eth0") are left out: libcurl 7.88 fails the transfer on
// an entry it cannot parse. Empty when none is left: libcurl then looks the name up itself.
std::string resolve_entry(const UrlHost& name, const HostLookup::Addresses& addresses) {
    std::string list;
    for (const auto& endpoint : addresses) {
        const std::string text = endpoint.address().to_string();
        if (text.find('%') != std::string::npos) continue;
        if (!list.empty()) list += ',';
        list += str::bracketed_host(text);
    }
    if (list.empty()) return list;
    return std::string(kAgesOut) + name.host + ":" + std::to_string(name.port) + ":" + list;
}

}  // namespace

CurlAttempt::CurlAttempt(CurlMulti& multi, HostLookup& names, const UpstreamRequest& request,
                         AttemptOwner& owner)
    : multi_(multi), names_(names), request_(request), owner_(&owner) {}

CurlAttempt::~CurlAttempt() { cancel(); }

void CurlAttempt::start() {
    // libcurl writes header lines as it is given them: a CR or LF would be a header of its own.
    if (const auto bad = unsendable_part(request_)) {
        fail_from_loop(unsendable_request(*bad));
        return;
    }
    name_ = name_for_libcurl(request_.url);
    if (!name_) {
        begin(std::string());
        return;
    }
    if (const auto* known = names_.known(HostLookup::origin(name_->host, name_->port))) {
        begin(resolve_entry(*name_, *known));
        return;
    }
    // A pending lookup does not keep the attempt: its owner does, or nobody needs the answer.
    looking_up_ = true;
    names_.lookup(name_->host, name_->port,
                  [weak = weak_from_this(), this](const std::string& error,
                                                  const HostLookup::Addresses& addresses) {
                      const auto self = weak.lock();
                      if (!self || !owner_) return;
                      looking_up_ = false;
                      if (!error.empty()) {
                          AttemptOwner* owner = std::exchange(owner_, nullptr);
                          owner->on_attempt_end(unresolved(name_->host, error));
                          return;
                      }
                      names_.remember(name_->host, name_->port, addresses);
                      begin(resolve_entry(*name_, addresses));
                  });
}

void CurlAttempt::begin(const std::string& resolve) {
    const LibCurl& curl = libcurl();
    easy_ = acquire_easy();
    bool ready = easy_ && configure();
    if (ready && !resolve.empty()) {
        resolve_list_ = curl.slist_append(nullptr, resolve.c_str());
        ready =
            resolve_list_ && curl.easy_setopt(easy_, CURLOPT_RESOLVE, resolve_list_) == CURLE_OK;
    }
    if (!ready || !multi_.add(easy_, this)) {
        release();
        fail_from_loop(GatewayError{ErrorType::unknown, "could not start the upstream request"});
    }
}

// Reported from the loop, never from inside start().
void CurlAttempt::fail_from_loop(GatewayError error) {
    own_error_ = std::move(error);
    boost::asio::post(multi_.io(), [weak = weak_from_this(), this] {
        const auto self = weak.lock();  // held while the owner may drop its handle on us
        if (self && owner_) owner_->on_attempt_end(own_error_);
    });
}

std::string CurlAttempt::looking_up() const { return looking_up_ ? name_->host : std::string(); }

void CurlAttempt::cancel() {
    owner_ = nullptr;
    if (in_callback_ && easy_) {
        // curl_multi_remove_handle must not run inside curl's own callback: later, and the
        // attempt lives until then.
        boost::asio::post(multi_.io(), [self = shared_from_this(), this] { remove(); });
        return;
    }
    remove();
}

void CurlAttempt::remove() {
    if (easy_ && paused_) {
        // libcurl 7.88 keeps what a paused transfer received (an HTTP/2 stream takes up to its
        // window, tens of MB) and, when the connection still carries other streams, does not
        // free it on removal: the buffer leaked (curl issue 10971, fixed in 8.1). Unpaused, it
        // is handed to on_write, which refuses it without an owner, and libcurl frees it.
        paused_ = false;
        (void)libcurl().easy_pause(easy_, CURLPAUSE_CONT);
    }
    if (easy_) multi_.remove(easy_);
    release();
}

void CurlAttempt::resume() {
    if (!paused_ || !easy_) return;
    paused_ = false;
    // May deliver the held chunk right here, through on_write.
    const CURLcode result = libcurl().easy_pause(easy_, CURLPAUSE_CONT);
    if (result != CURLE_OK && easy_ && owner_) {
        // The held chunk was refused (a limit passed). libcurl 7.88 then returns before it
        // watches the transfer again: nothing would ever end it. It ends here, and the owner,
        // whose resume() this is, hears of it from the loop.
        multi_.remove(easy_);
        release();
        fail_from_loop(
            own_error_.value_or(GatewayError{classify(result), describe(result, error_buffer_)}));
        return;
    }
    multi_.kick();
}

bool CurlAttempt::configure() {
    CURL* easy = easy_;
    const LibCurl& curl = libcurl();
    curl.easy_setopt(easy, CURLOPT_URL, request_.url.c_str());
    curl.easy_setopt(easy, CURLOPT_PATH_AS_IS, 1L);
    curl.easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
#if LIBCURL_VERSION_NUM >= 0x075700
    // A transfer removed while its name is still being looked up: without this, libcurl joins
    // the lookup's thread right there, and the whole loop waits for a DNS server that does not
    // answer (seconds). With it, the thread is left to finish on its own. 7.87.0 and later.
    curl.easy_setopt(easy, CURLOPT_QUICK_EXIT, 1L);
#endif
    curl.easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http,https");
    curl.easy_setopt(easy, CURLOPT_BUFFERSIZE, 64L * 1024L);
    curl.easy_setopt(easy, CURLOPT_ERRORBUFFER, error_buffer_);
    // A proxy's answer to CONNECT (https:// through http_proxy) is not the upstream's head.
    curl.easy_setopt(easy, CURLOPT_SUPPRESS_CONNECT_HEADERS, 1L);
    curl.easy_setopt(easy, CURLOPT_HEADERFUNCTION, &CurlAttempt::on_header_line);
    curl.easy_setopt(easy, CURLOPT_HEADERDATA, this);
    curl.easy_setopt(easy, CURLOPT_WRITEFUNCTION, &CurlAttempt::on_write);
    curl.easy_setopt(easy, CURLOPT_WRITEDATA, this);
#if LIBCURL_VERSION_NUM >= 0x075000
    // Asked before each send of the request (7.80.0 and later; an older libcurl ignores it).
    curl.easy_setopt(easy, CURLOPT_PREREQFUNCTION, &CurlAttempt::on_send);
    curl.easy_setopt(easy, CURLOPT_PREREQDATA, this);
#endif
    const CaTrust& trust = ca_trust();
    if (!trust.file.empty()) curl.easy_setopt(easy, CURLOPT_CAINFO, trust.file.c_str());
    if (!trust.directory.empty()) curl.easy_setopt(easy, CURLOPT_CAPATH, trust.directory.c_str());

    const std::string& method = request_.method;
    const bool has_body = request_.body && !request_.body->empty();
    if (method == "HEAD") {
        curl.easy_setopt(easy, CURLOPT_NOBODY, 1L);
    } else if (method == "GET" && !has_body) {
        curl.easy_setopt(easy, CURLOPT_HTTPGET, 1L);
    } else if (has_body || method == "POST" || method == "PUT" || method == "PATCH") {
        static const std::string empty;
        const std::string& body = request_.body ? *request_.body : empty;
        curl.easy_setopt(easy, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
        curl.easy_setopt(easy, CURLOPT_POSTFIELDS, body.data());
        if (method != "POST") curl.easy_setopt(easy, CURLOPT_CUSTOMREQUEST, method.c_str());
    } else {
        curl.easy_setopt(easy, CURLOPT_CUSTOMREQUEST, method.c_str());
    }

    // curl would add Accept, Expect and a form Content-Type of its own: an empty value
    // ("Name:") tells it not to, so only the client's headers go upstream.
    curl_slist* list = nullptr;
    std::string line;
    for (const HeaderField& f : request_.headers) {
        // 100-continue is answered by us; libcurl frames the message and its connection.
        if (str::is_framing_field(f.name)) continue;
        line.assign(f.name);
        line += f.value.empty() ? ";" : ": ";
        line += f.value;
        list = curl.slist_append(list, line.c_str());
    }
    if (!request_.headers.contains("accept")) list = curl.slist_append(list, "Accept:");
    if (!request_.headers.contains("content-type")) list = curl.slist_append(list, "Content-Type:");
    list = curl.slist_append(list, "Expect:");
    header_list_ = list;
    curl.easy_setopt(easy, CURLOPT_HTTPHEADER, header_list_);
    return list != nullptr;
}

std::size_t CurlAttempt::on_header_line(char* data, std::size_t size, std::size_t n, void* self) {
    auto* a = static_cast<CurlAttempt*>(self);
    const std::size_t len = size * n;
    if (!a->owner_) return 0;
    if (a->head_delivered_) return len;  // a chunked body's trailers: not relayed
    a->head_bytes_ += len;
    if (a->head_bytes_ > kMaxResponseHead) {
        a->own_error_ = response_head_too_large();
        return 0;
    }
    switch (a->parser_.feed(std::string_view(data, len))) {
        case HeadParser::Step::bad:
            a->own_error_ = malformed_response_head();
            return 0;
        case HeadParser::Step::switched:
            a->own_error_ = unasked_protocol_switch();
            return 0;
        case HeadParser::Step::complete: {
            a->head_delivered_ = true;
            a->join_batch();
            a->in_callback_ = true;
            const bool go_on = a->owner_->on_attempt_head(a->parser_.head());
            a->in_callback_ = false;
            return go_on && a->owner_ ? len : 0;
        }
        case HeadParser::Step::more:
            return len;
    }
    return len;
}

std::size_t CurlAttempt::on_write(char* data, std::size_t size, std::size_t n, void* self) {
    auto* a = static_cast<CurlAttempt*>(self);
    const std::size_t len = size * n;
    if (!a->owner_) return 0;
    if (!a->head_delivered_) {  // body bytes with no head before them: never relayed as such
        a->own_error_ = malformed_response_head();
        return 0;
    }
    a->join_batch();
    a->in_callback_ = true;
    const AttemptOwner::Take take = a->owner_->on_attempt_body(std::string_view(data, len));
    a->in_callback_ = false;
    if (!a->owner_) return 0;  // cancelled meanwhile
    switch (take) {
        case AttemptOwner::Take::taken: return len;
        case AttemptOwner::Take::paused: a->paused_ = true; return CURL_WRITEFUNC_PAUSE;
        case AttemptOwner::Take::stop: return 0;
    }
    return 0;
}

// libcurl sends a request again on a fresh connection, any request, up to five times: after a
// reused connection died before a byte of the answer, and after an HTTP/2 stream the upstream
// refused (REFUSED_STREAM: never processed, as at its stream limit), two cases this callback
// cannot tell apart. It allows one resend within kReplayWithin of the first send: a stale
// connection, or a refused stream, fails within a round trip or so. Later, the upstream was at
// work on the request (a worker that died mid-completion: a second POST would be a second
// completion, paid for twice), so this attempt ends and the exchange's retries decide, counted
// and logged. The native client sees which bytes went out, and does not send a whole POST
// without an Idempotency-Key again even at once (H1Attempt::replay).
#if LIBCURL_VERSION_NUM >= 0x075000
int CurlAttempt::on_send(void* self, char*, char*, int, int) {
    auto* a = static_cast<CurlAttempt*>(self);
    const auto now = std::chrono::steady_clock::now();
    if (a->sends_++ == 0) {
        a->first_send_ = now;
        return CURL_PREREQFUNC_OK;
    }
    if (a->sends_ == 2 && now - a->first_send_ <= kReplayWithin) return CURL_PREREQFUNC_OK;
    a->own_error_ = closed_without_answering();
    return CURL_PREREQFUNC_ABORT;
}
#endif

// Whether libcurl sent the request (after its connection, and a proxy's CONNECT, were done):
// a reply refused before that is a proxy's, not the upstream's. Unknown before libcurl 7.80.
bool CurlAttempt::request_sent() const {
#if LIBCURL_VERSION_NUM >= 0x075000
    return sends_ > 0;
#else
    return false;
#endif
}

// What one action of the multi brings for this transfer (its head and the body after it, or
// the chunks of one read) reaches the owner as one batch, closed when the action is over. Not
// outside an action: curl_easy_pause hands held bytes over from inside resume().
void CurlAttempt::join_batch() {
    if (in_batch_ || !multi_.acting()) return;
    in_batch_ = true;
    owner_->on_attempt_batch(true);
    multi_.after_action([weak = weak_from_this()] {
        const auto attempt = weak.lock();
        if (!attempt) return;
        auto& self = static_cast<CurlAttempt&>(*attempt);
        self.in_batch_ = false;
        if (self.owner_) self.owner_->on_attempt_batch(false);
    });
}

void CurlAttempt::on_curl_done(CURLcode result) {
    const auto self = shared_from_this();
    std::optional<GatewayError> error = own_error_;
    if (!error && result != CURLE_OK)
        error = GatewayError{classify(result), describe(result, error_buffer_)};
    if (!error && !head_delivered_) error = malformed_response_head();  // ended with no head
    // Bytes of a head came (an interim 1xx too) and then it failed: not retried, not fallen
    // back from, as with the native client (H1Attempt::end).
    if (error && !head_delivered_ &&
        (head_bytes_ > 0 || (request_sent() && refused_an_answer(result)))) {
        error->retry_cannot_help = true;
    }
    release();
    AttemptOwner* owner = owner_;
    owner_ = nullptr;
    if (owner) owner->on_attempt_end(std::move(error));  // may destroy this attempt
}

void CurlAttempt::release() {
    if (easy_) {
        release_easy_handle(easy_);
        easy_ = nullptr;
    }
    for (curl_slist** list : {&header_list_, &resolve_list_}) {
        if (*list) libcurl().slist_free_all(*list);
        *list = nullptr;
    }
}

}  // namespace llmgw::upstream
