#include "upstream/host_lookup.hpp"

#include <netdb.h>
#include <sys/socket.h>

#include <algorithm>
#include <boost/asio/post.hpp>
#include <cerrno>
#include <cstring>
#include <system_error>
#include <thread>
#include <utility>

namespace llmgw::upstream {

namespace {

using tcp = boost::asio::ip::tcp;

// getaddrinfo as Asio's resolver called it here (no flags: a server on [::1] stays reachable
// as `localhost` on a machine without IPv6 elsewhere); on a thread of its own, as it may block
// for as long as the DNS server takes.
HostLookup::Answer system_resolve(const std::string& host, std::uint16_t port) {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV;
    addrinfo* found = nullptr;
    const int rc = ::getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &found);
    if (rc != 0) {
        return {rc == EAI_SYSTEM ? std::system_category().message(errno) : ::gai_strerror(rc),
                rc == EAI_NONAME,
                {}};
    }
    HostLookup::Addresses addresses;
    for (const addrinfo* a = found; a != nullptr; a = a->ai_next) {
        if (a->ai_family != AF_INET && a->ai_family != AF_INET6) continue;
        tcp::endpoint endpoint;
        endpoint.resize(a->ai_addrlen);
        std::memcpy(endpoint.data(), a->ai_addr, a->ai_addrlen);
        addresses.push_back(endpoint);
    }
    ::freeaddrinfo(found);
    if (addresses.empty()) return {"no address", false, {}};
    return {std::string(), false, interleave_families(addresses)};
}

// `first` to the front when it is among `addresses`, the families interleaved again after it.
void move_to_front(HostLookup::Addresses& addresses, const tcp::endpoint& first) {
    const auto at = std::find(addresses.begin(), addresses.end(), first);
    if (at == addresses.end() || at == addresses.begin()) return;
    std::rotate(addresses.begin(), at, at + 1);
    addresses = interleave_families(addresses);
}

}  // namespace

HostLookup::HostLookup(boost::asio::io_context& io, Clock::duration fresh_for, Resolver resolver,
                       Clock::duration retry_after)
    : fresh_for_(fresh_for),
      retry_after_(retry_after),
      resolver_(resolver ? resolver : &system_resolve),
      link_(std::make_shared<Link>()) {
    link_->io = &io;
}

HostLookup::~HostLookup() {
    const std::lock_guard<std::mutex> lock(link_->mutex);
    link_->io = nullptr;
}

void HostLookup::lookup(const std::string& host, std::uint16_t port, Done done) {
    std::string key = origin(host, port);
    auto& waiters = waiting_[key];
    waiters.push_back(std::move(done));
    if (waiters.size() > 1) return;  // that name is being looked up: its answer serves this one too

    const auto report = [this, link = link_, key](Answer answer) {
        const std::lock_guard<std::mutex> lock(link->mutex);
        if (link->io == nullptr) return;  // the loop's side is gone
        boost::asio::post(*link->io, [this, link, key, answer = std::move(answer)] {
            {
                const std::lock_guard<std::mutex> again(link->mutex);
                if (link->io == nullptr) return;  // gone since
            }
            finish(key, answer);
        });
    };
    try {
        std::thread([resolver = resolver_, host, port, report] {
            report(resolver(host, port));
        }).detach();
    } catch (const std::exception& e) {  // no thread to be had (limits, memory)
        report(Answer{std::string("could not start a lookup: ") + e.what(), false, {}});
    }
}

GatewayError unresolved(const std::string& host, const std::string& why) {
    return GatewayError{ErrorType::dns,
                        "upstream host could not be resolved: " + host + " (" + why + ")"};
}

HostLookup::Addresses interleave_families(const HostLookup::Addresses& addresses) {
    if (addresses.empty()) return {};
    const bool first_v6 = addresses.front().address().is_v6();
    HostLookup::Addresses first, other;
    for (const auto& a : addresses) (a.address().is_v6() == first_v6 ? first : other).push_back(a);
    HostLookup::Addresses out;
    out.reserve(addresses.size());
    for (std::size_t i = 0; i < first.size() || i < other.size(); ++i) {
        if (i < first.size()) out.push_back(first[i]);
        if (i < other.size()) out.push_back(other[i]);
    }
    return out;
}

const HostLookup::Addresses* HostLookup::known(const std::string& origin) {
    const auto it = known_.find(origin);
    if (it == known_.end()) return nullptr;
    const auto now = Clock::now();
    Known& entry = it->second;
    if (now < entry.fresh_until) return &entry.addresses;
    if (now >= entry.fresh_until + kStaleFor) {
        known_.erase(it);
        return nullptr;
    }
    if (now >= entry.refresh_after && !waiting_.contains(origin)) {  // one refresh at a time
        lookup(entry.host, entry.port,
               [this, host = entry.host, port = entry.port](const std::string& error,
                                                            const Addresses& addresses) {
                   if (error.empty()) remember(host, port, addresses);
               });
    }
    return &entry.addresses;
}

void HostLookup::remember(const std::string& host, std::uint16_t port, Addresses addresses) {
    const auto now = Clock::now();
    if (known_.size() > kPruneAbove) {
        std::erase_if(known_,
                      [&](const auto& e) { return now >= e.second.fresh_until + kStaleFor; });
    }
    Known& entry = known_[origin(host, port)];
    if (!entry.addresses.empty()) move_to_front(addresses, entry.addresses.front());
    entry = Known{std::move(addresses), now + fresh_for_, Clock::time_point(), host, port};
}

void HostLookup::prefer(const std::string& origin, const boost::asio::ip::tcp::endpoint& used) {
    if (const auto it = known_.find(origin); it != known_.end()) {
        move_to_front(it->second.addresses, used);
    }
}

void HostLookup::finish(const std::string& key, const Answer& answer) {
    if (!answer.error.empty()) {
        // Only a refresh finds remembered addresses (known() gives them meanwhile).
        if (const auto k = known_.find(key); k != known_.end()) {
            if (answer.no_such_name) {
                known_.erase(k);
            } else {
                k->second.refresh_after = Clock::now() + retry_after_;
            }
        }
    }
    const auto it = waiting_.find(key);
    if (it == waiting_.end()) return;
    const std::vector<Done> waiters = std::move(it->second);
    waiting_.erase(it);
    for (const Done& done : waiters) done(answer.error, answer.addresses);
}

}  // namespace llmgw::upstream
