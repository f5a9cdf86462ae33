// AddressRace: the first of a host's addresses that answers, each failure moving on at once.
// (A blackholed address, where the 200 ms step matters, needs a namespace of its own:
// test_upstream_client.py's NamespaceTest.)
#include <doctest/doctest.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <chrono>
#include <optional>

#include "upstream/address_race.hpp"

using boost::asio::ip::tcp;
using llmgw::upstream::AddressRace;

namespace {

struct Outcome {
    int calls = 0;
    boost::system::error_code ec;
    bool open = false;
    std::optional<tcp::endpoint> used;
    std::chrono::steady_clock::duration took{};
};

// An address on 127.0.0.1 where nothing listens: connecting is refused at once. The port stays
// bound (never listening) while this lives, so no server of a test running alongside takes it.
class Refusing {
  public:
    explicit Refusing(boost::asio::io_context& io) : socket_(io) {
        socket_.open(tcp::v4());
        socket_.bind(tcp::endpoint(boost::asio::ip::address_v4::loopback(), 0));
    }
    tcp::endpoint endpoint() const { return socket_.local_endpoint(); }

  private:
    tcp::socket socket_;
};

Outcome race(boost::asio::io_context& io, std::vector<tcp::endpoint> addresses,
             bool cancel_at_once = false) {
    Outcome out;
    const auto started = std::chrono::steady_clock::now();
    auto r = AddressRace::start(
        io, std::move(addresses),
        [&](const boost::system::error_code& ec, tcp::socket socket, const tcp::endpoint& used) {
            ++out.calls;
            out.ec = ec;
            out.open = socket.is_open();
            out.used = used;
            out.took = std::chrono::steady_clock::now() - started;
        });
    if (cancel_at_once) r->cancel();
    r.reset();  // the race keeps itself alive while it runs
    io.run_for(std::chrono::seconds(5));
    io.restart();
    return out;
}

}  // namespace

TEST_SUITE("upstream.address_race") {
    TEST_CASE("a refused address moves on at once, not after the 200 ms step") {
        boost::asio::io_context io;
        tcp::acceptor live(io, tcp::endpoint(boost::asio::ip::address_v4::loopback(), 0));
        const Refusing dead(io);
        const Outcome out = race(io, {dead.endpoint(), live.local_endpoint()});
        CHECK(out.calls == 1);
        CHECK(!out.ec);
        CHECK(out.open);
        REQUIRE(out.used);
        CHECK(*out.used == live.local_endpoint());
        CHECK(out.took < AddressRace::kNextAddressAfter);
    }

    TEST_CASE("every address refused: one call with the error and a closed socket") {
        boost::asio::io_context io;
        const Refusing a(io), b(io), c(io);
        const Outcome out = race(io, {a.endpoint(), b.endpoint(), c.endpoint()});
        CHECK(out.calls == 1);
        CHECK(out.ec == boost::asio::error::connection_refused);
        CHECK(!out.open);
    }

    TEST_CASE("the first address that answers wins; cancelled, the race calls nothing") {
        boost::asio::io_context io;
        tcp::acceptor first(io, tcp::endpoint(boost::asio::ip::address_v4::loopback(), 0));
        tcp::acceptor second(io, tcp::endpoint(boost::asio::ip::address_v4::loopback(), 0));
        const Outcome out = race(io, {first.local_endpoint(), second.local_endpoint()});
        CHECK(out.calls == 1);
        CHECK(!out.ec);
        REQUIRE(out.used);
        CHECK(*out.used == first.local_endpoint());

        const Outcome cancelled = race(io, {first.local_endpoint()}, true);
        CHECK(cancelled.calls == 0);
    }
}
