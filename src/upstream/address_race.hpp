// Opens a TCP connection to the first of a host's addresses that answers (happy eyeballs with
// RFC 8305 §5's connection attempt delay, curl's 200 ms): the next address is tried as soon as
// the ones before it have failed, or when the latest has not answered within kNextAddressAfter,
// while the earlier tries go on. The addresses are tried in the order given: HostLookup's, with
// the families interleaved (RFC 8305 §4).
// The first connection made wins and the other tries are closed. A host whose first address is
// blackholed (a stale AAAA record, a dead server of several) costs that delay, not a timeout.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <vector>

namespace llmgw::upstream {

class AddressRace : public std::enable_shared_from_this<AddressRace> {
  public:
    using tcp = boost::asio::ip::tcp;
    static constexpr std::chrono::milliseconds kNextAddressAfter{200};  // curl's default too

    // The connected socket and the address it reached; or, when every address failed, the
    // last error and a closed socket.
    using Done =
        std::function<void(const boost::system::error_code&, tcp::socket, const tcp::endpoint&)>;

    // `addresses` must not be empty. `done` is called once, from a handler of `io`, never from
    // inside start().
    static std::shared_ptr<AddressRace> start(boost::asio::io_context& io,
                                              std::vector<tcp::endpoint> addresses, Done done);
    // Closes every try; `done` is not called after this.
    void cancel();

    AddressRace(boost::asio::io_context& io, std::vector<tcp::endpoint> addresses, Done done);

  private:
    void try_next();
    void on_result(std::size_t index, const boost::system::error_code& ec);

    boost::asio::io_context& io_;
    std::vector<tcp::endpoint> addresses_;
    std::vector<std::unique_ptr<tcp::socket>> tries_;  // one per address tried so far
    boost::asio::steady_timer next_timer_;
    std::size_t failed_ = 0;
    Done done_;  // empty once called or cancelled
};

}  // namespace llmgw::upstream
