// Host name lookups for the native client, off the event loop and independent of each other.
// Asio's resolver runs a loop's lookups one at a time on one thread: a name whose DNS server
// does not answer held up every other name of that loop, and the gateway's exit waited for it.
// Here each name being looked up has a thread of its own (a request for a name already being
// looked up waits for that answer), and nothing waits for a thread still running when the
// loop goes: its answer goes nowhere.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

namespace llmgw::upstream {

class HostLookup {
  public:
    using Addresses = std::vector<boost::asio::ip::tcp::endpoint>;
    // `error` empty: `addresses` (not empty), in the system resolver's order. Otherwise why not.
    using Done = std::function<void(const std::string& error, const Addresses& addresses)>;

    explicit HostLookup(boost::asio::io_context& io);
    // On the loop's thread, or once it has stopped running. Lookups still running are
    // abandoned: their `done` is never called.
    ~HostLookup();
    HostLookup(const HostLookup&) = delete;
    HostLookup& operator=(const HostLookup&) = delete;

    // `done` runs on the loop, never from inside lookup().
    void lookup(const std::string& host, std::uint16_t port, Done done);
    std::size_t names_in_flight() const { return waiting_.size(); }

  private:
    // What a lookup thread shares with the loop: null once the loop's side is gone.
    struct Link {
        std::mutex mutex;
        boost::asio::io_context* io = nullptr;
    };
    void finish(const std::string& key, const std::string& error, const Addresses& addresses);

    std::shared_ptr<Link> link_;
    std::unordered_map<std::string, std::vector<Done>> waiting_;  // "host:port" -> its waiters
};

}  // namespace llmgw::upstream
