// HostLookup: getaddrinfo off the loop, one lookup per name, answers only while the loop's
// side lives; answers kept; address families interleaved. (A DNS server that never answers,
// and interleaving end to end: test_upstream_client.py's NamespaceTest; a name that does not
// exist: the DNS error tests of test_serve.py and test_faults.py.)
#include <doctest/doctest.h>

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <memory>
#include <string>
#include <thread>

#include "upstream/host_lookup.hpp"

using llmgw::upstream::HostLookup;
using llmgw::upstream::interleave_families;

namespace {

// Runs the loop until `done()` or the time is up. The answers come from other threads: the
// loop has no work of its own to wait for meanwhile.
template <typename Done>
void run_until(boost::asio::io_context& io, Done done, std::chrono::milliseconds limit) {
    const auto until = std::chrono::steady_clock::now() + limit;
    while (!done() && std::chrono::steady_clock::now() < until) {
        io.restart();
        io.run_for(std::chrono::milliseconds(10));
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
}

}  // namespace

TEST_SUITE("upstream.host_lookup") {
    TEST_CASE("a name asked twice at once is looked up once and answers both, on the loop") {
        boost::asio::io_context io;
        HostLookup lookup(io);
        int answers = 0;
        const auto on_loop = std::this_thread::get_id();
        for (int i = 0; i < 2; ++i) {
            lookup.lookup("localhost", 8080,
                          [&](const std::string& error, const HostLookup::Addresses& addresses) {
                              ++answers;
                              CHECK(std::this_thread::get_id() == on_loop);
                              CHECK(error.empty());
                              REQUIRE(!addresses.empty());
                              CHECK(addresses.front().address().is_loopback());
                              CHECK(addresses.front().port() == 8080);
                          });
        }
        CHECK(lookup.names_in_flight() == 1);
        CHECK(answers == 0);  // never from inside lookup()
        run_until(
            io, [&] { return answers == 2; }, std::chrono::seconds(10));
        CHECK(answers == 2);
        CHECK(lookup.names_in_flight() == 0);
    }

    TEST_CASE("gone before the answer: the answer goes nowhere") {
        boost::asio::io_context io;
        bool called = false;
        {
            HostLookup lookup(io);
            lookup.lookup("localhost", 80,
                          [&](const std::string&, const HostLookup::Addresses&) { called = true; });
        }
        // A lookup of the same name started after it, on a HostLookup that stays: once it has
        // answered, the first one has had its time too.
        HostLookup witness(io);
        bool answered = false;
        witness.lookup("localhost", 80,
                       [&](const std::string&, const HostLookup::Addresses&) { answered = true; });
        run_until(
            io, [&] { return answered; }, std::chrono::seconds(10));
        REQUIRE(answered);
        run_until(
            io, [] { return false; }, std::chrono::milliseconds(100));
        CHECK(!called);
    }

    TEST_CASE(
        "known answers are kept, per host and port; past their time they are still given "
        "while one lookup refreshes them") {
        boost::asio::io_context io;
        HostLookup lookup(io, std::chrono::milliseconds(300));
        CHECK(lookup.known("localhost:443") == nullptr);
        const HostLookup::Addresses old{{boost::asio::ip::make_address("10.0.0.1"), 443}};
        lookup.remember("localhost", 443, old);
        REQUIRE(lookup.known("localhost:443") != nullptr);
        CHECK(*lookup.known("localhost:443") == old);
        CHECK(lookup.known("localhost:80") == nullptr);
        CHECK(lookup.names_in_flight() == 0);  // fresh: nothing looked up

        std::this_thread::sleep_for(std::chrono::milliseconds(350));
        for (int i = 0; i < 3; ++i) {  // stale: given at once, and refreshed once
            REQUIRE(lookup.known("localhost:443") != nullptr);
            CHECK(*lookup.known("localhost:443") == old);
        }
        CHECK(lookup.names_in_flight() == 1);
        run_until(
            io, [&] { return lookup.names_in_flight() == 0; }, std::chrono::seconds(10));
        const HostLookup::Addresses* now = lookup.known("localhost:443");
        REQUIRE(now != nullptr);
        REQUIRE(!now->empty());
        CHECK(now->front().address().is_loopback());
        CHECK(now->front().port() == 443);
        CHECK(lookup.names_in_flight() == 0);  // fresh again
    }

    TEST_CASE("the families alternate, each in the resolver's order, the first family first") {
        using boost::asio::ip::make_address;
        const auto at = [](const char* address) {
            return boost::asio::ip::tcp::endpoint(make_address(address), 443);
        };
        CHECK(interleave_families({}).empty());
        CHECK(
            interleave_families(
                {at("::1"), at("::2"), at("::3"), at("10.0.0.1"), at("10.0.0.2")}) ==
            HostLookup::Addresses{at("::1"), at("10.0.0.1"), at("::2"), at("10.0.0.2"), at("::3")});
        CHECK(interleave_families({at("10.0.0.1"), at("10.0.0.2"), at("::1")}) ==
              HostLookup::Addresses{at("10.0.0.1"), at("::1"), at("10.0.0.2")});
        CHECK(interleave_families({at("10.0.0.1"), at("10.0.0.2")}) ==
              HostLookup::Addresses{at("10.0.0.1"), at("10.0.0.2")});
    }
}
