// Host name lookups for both upstream clients of a loop, off the event loop and independent of
// each other, and the answers kept (known()). Asio's resolver ran a loop's lookups one at a
// time on one thread: a name whose DNS server does not answer held up every other name of that
// loop, and the gateway's exit waited for it. Here each name being looked up has a thread of its
// own (a request for a name already being looked up waits for that answer), and nothing waits
// for a thread still running when the loop goes: its answer goes nowhere. libcurl is handed the
// answers (CURLOPT_RESOLVE) rather than starting a lookup thread per transfer, which piled up
// under a DNS server that does not answer.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "util/gateway_error.hpp"

namespace llmgw::upstream {

class HostLookup {
  public:
    using Addresses = std::vector<boost::asio::ip::tcp::endpoint>;
    // `error` empty: `addresses` (not empty), in the system resolver's order with the families
    // interleaved (interleave_families). Otherwise why not.
    using Done = std::function<void(const std::string& error, const Addresses& addresses)>;
    // What a lookup thread found. `no_such_name`: the DNS said the name does not exist.
    struct Answer {
        std::string error;
        bool no_such_name = false;
        Addresses addresses;
    };
    // Runs on a lookup thread: getaddrinfo, unless a test gives another.
    using Resolver = Answer (*)(const std::string& host, std::uint16_t port);
    using Clock = std::chrono::steady_clock;
    static constexpr std::chrono::seconds kFreshFor{30};
    static constexpr std::chrono::hours kStaleFor{24};     // RFC 8767 §5 suggests 1 to 3 days
    static constexpr std::chrono::seconds kRetryAfter{5};  // after a refresh that failed

    // Tests shorten the times and give a resolver of their own.
    explicit HostLookup(boost::asio::io_context& io, Clock::duration fresh_for = kFreshFor,
                        Resolver resolver = nullptr, Clock::duration retry_after = kRetryAfter);
    // On the loop's thread, or once it has stopped running. Lookups still running are
    // abandoned: their `done` is never called.
    ~HostLookup();
    HostLookup(const HostLookup&) = delete;
    HostLookup& operator=(const HostLookup&) = delete;

    // The key of a host and port here: "host:port" (H1Target::origin is written the same way).
    static std::string origin(const std::string& host, std::uint16_t port) {
        return host + ":" + std::to_string(port);
    }

    // `done` runs on the loop, never from inside lookup().
    void lookup(const std::string& host, std::uint16_t port, Done done);
    std::size_t names_in_flight() const { return waiting_.size(); }

    // Addresses of `origin` (origin(host, port)) remembered earlier, or null.
    // Older than `fresh_for` they are still given, for up to kStaleFor more, while a lookup
    // started here refreshes them (serve-stale, RFC 8767): a DNS server that stops answering,
    // or a lookup that fails, does not stop an upstream whose addresses still answer (libcurl
    // would have reused its connections without asking). After a failed refresh, the next is
    // started by the first call kRetryAfter later or more; an answer that the name does not
    // exist forgets them. The pointer is good until the next call of known(), remember() or
    // prefer(), or the next handler the loop runs.
    const Addresses* known(const std::string& origin);
    // lookup() does not remember its answers: the caller does. The address that went first
    // (prefer()) stays first if it is still among them.
    void remember(const std::string& host, std::uint16_t port, Addresses addresses);
    // `used` answered first: it goes first next time, the families interleaved again, the
    // answer's age unchanged. Nothing when `used` is no longer among the addresses.
    void prefer(const std::string& origin, const boost::asio::ip::tcp::endpoint& used);

  private:
    // What a lookup thread shares with the loop: null once the loop's side is gone.
    struct Link {
        std::mutex mutex;
        boost::asio::io_context* io = nullptr;
    };
    void finish(const std::string& key, const Answer& answer);

    struct Known {
        Addresses addresses;
        Clock::time_point fresh_until;
        Clock::time_point refresh_after;  // no refresh before (set when one failed)
        std::string host;
        std::uint16_t port = 0;
    };
    static constexpr std::size_t kPruneAbove = 64;  // then answers past kStaleFor are dropped

    Clock::duration fresh_for_;
    Clock::duration retry_after_;
    Resolver resolver_;
    std::shared_ptr<Link> link_;
    std::unordered_map<std::string, std::vector<Done>> waiting_;  // "host:port" -> its waiters
    std::unordered_map<std::string, Known> known_;                // "host:port" -> its answer
};

// What an attempt reports when the lookup of `host` failed, `why` being lookup()'s error.
GatewayError unresolved(const std::string& host, const std::string& why);

// RFC 8305 §4: the addresses alternate between the families, beginning with the first
// address's, each family's in the resolver's order. A family none of whose addresses answers
// then costs one attempt delay of the address race, not one per address.
HostLookup::Addresses interleave_families(const HostLookup::Addresses& addresses);

}  // namespace llmgw::upstream
