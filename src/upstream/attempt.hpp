// One try of an upstream exchange, over one transport: libcurl (CurlAttempt) or the native
// HTTP/1.1 client (H1Attempt). The exchange owns the policy (retries, deadlines, limits) and
// sees every attempt through the same few calls, whichever transport runs it.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "upstream/request.hpp"
#include "util/gateway_error.hpp"

namespace llmgw::upstream {

// What an attempt tells its exchange. Calls come from the event loop's thread; an attempt
// never calls on_attempt_end from inside on_attempt_head or on_attempt_body.
class AttemptOwner {
public:
    enum class Take { taken, paused, stop };
    virtual ~AttemptOwner() = default;
    // A final (non-1xx) head. False stops the attempt; its end then reports the owner's reason.
    virtual bool on_attempt_head(const ResponseHead& head) = 0;
    // taken: delivered; paused: offer the same bytes again after resume(); stop: end the attempt.
    virtual Take on_attempt_body(std::string_view chunk) = 0;
    // The attempt is over: no error means the whole response arrived. Said once, unless the
    // attempt was cancelled first.
    virtual void on_attempt_end(std::optional<GatewayError> transport_error) = 0;
    // True before the calls for what one read of the upstream brought (a head, body chunks;
    // over libcurl, one action of its multi handle), false after them, unless the attempt
    // ended in between: they may go out as one write.
    virtual void on_attempt_batch(bool open) { (void)open; }
};

// Held by shared_ptr: a transport keeps itself alive while its own callbacks run.
class Attempt : public std::enable_shared_from_this<Attempt> {
public:
    virtual ~Attempt() = default;
    // Sends the request; everything after is reported to the owner.
    virtual void start() = 0;
    // The owner can take data again.
    virtual void resume() = 0;
    // Stops at once and closes what must be closed; the owner hears nothing more. Allowed from
    // inside on_attempt_head/on_attempt_body.
    virtual void cancel() = 0;
    // The host name whose addresses this attempt is waiting for, or empty: what a deadline
    // that passes meanwhile names.
    virtual std::string looking_up() const { return {}; }
};

}  // namespace llmgw::upstream
