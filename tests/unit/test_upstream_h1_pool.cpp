// The native client's pool of kept-alive upstream connections: what it gives out again.
#include <doctest/doctest.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <chrono>
#include <memory>
#include <thread>

#include "upstream/h1_pool.hpp"
#include "upstream/host_lookup.hpp"

using namespace llmgw::upstream;
namespace asio = boost::asio;
using asio::ip::tcp;

namespace {

// A connection to a listener on 127.0.0.1 and the listener's end of it.
struct LoopbackPair {
    explicit LoopbackPair(asio::io_context& io)
        : acceptor(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)),
          ours(std::make_unique<H1Connection>(io)),
          theirs(io) {
        ours->socket.connect(acceptor.local_endpoint());
        acceptor.accept(theirs);
    }
    tcp::acceptor acceptor;
    std::unique_ptr<H1Connection> ours;
    tcp::socket theirs;
};

// Waits until the peer's FIN has reached our end (bounded).
void wait_for_fin(H1Connection& c) {
    for (int i = 0; i < 200 && c.socket.available() == 0; ++i) {
        char byte = 0;
        if (::recv(c.socket.native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT) == 0) return;
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
}

}  // namespace

TEST_SUITE("upstream.h1_pool") {
    TEST_CASE(
        "a connection whose last bytes came long ago is checked, however recently given back") {
        // An answer held while its client caught up is given back seconds after its last
        // bytes came; the upstream may have closed it meanwhile (its keep-alive timeout). The
        // pool counts the idle time from those bytes (idle_since, stamped by each read), so
        // the check runs: before, give_back stamped the time, and a request taking the
        // connection within a millisecond (a pipelined one) wrote to a closed connection.
        asio::io_context io;
        HostLookup names(io);
        H1Pool pool(io, names, PoolLimits{});
        LoopbackPair closed(io);
        closed.theirs.close();  // the upstream's keep-alive timeout
        wait_for_fin(*closed.ours);
        closed.ours->idle_since = H1Pool::Clock::now() - std::chrono::seconds(2);
        pool.give_back("o", std::move(closed.ours));
        CHECK(pool.take("o") == nullptr);
        CHECK(pool.idle_count() == 0);

        LoopbackPair open(io);  // still open: given out again
        open.ours->idle_since = H1Pool::Clock::now() - std::chrono::seconds(2);
        H1Connection* const raw = open.ours.get();
        pool.give_back("o", std::move(open.ours));
        CHECK(pool.take("o").get() == raw);
    }

    TEST_CASE("a connection idle past the timeout is not given out, and the others still are") {
        asio::io_context io;
        HostLookup names(io);
        H1Pool pool(io, names, PoolLimits{8, std::chrono::milliseconds(1000)});
        LoopbackPair young(io), old(io);
        young.ours->idle_since = H1Pool::Clock::now() - std::chrono::milliseconds(200);
        old.ours->idle_since = H1Pool::Clock::now() - std::chrono::seconds(5);
        H1Connection* const raw = young.ours.get();
        pool.give_back("o", std::move(young.ours));
        pool.give_back("o", std::move(old.ours));  // newest given back, oldest bytes
        CHECK(pool.take("o").get() == raw);
        CHECK(pool.take("o") == nullptr);
    }
}
