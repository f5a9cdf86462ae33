// HostLookup: getaddrinfo off the loop, one lookup per name, answers only while the loop's
// side lives; answers kept; address families interleaved. (A DNS server that never answers,
// and interleaving end to end: test_upstream_client.py's NamespaceTest; a name that does not
// exist: the DNS error tests of test_serve.py and test_faults.py.)
#include <doctest/doctest.h>

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <memory>
#include <mutex>
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

// Runs the loop until every lookup of `lookup` has answered (10 s at most).
void wait_for_lookups(boost::asio::io_context& io, const HostLookup& lookup) {
    run_until(
        io, [&] { return lookup.names_in_flight() == 0; }, std::chrono::seconds(10));
}

boost::asio::ip::tcp::endpoint at(const char* address) {
    return boost::asio::ip::tcp::endpoint(boost::asio::ip::make_address(address), 443);
}

// A resolver for the tests (it runs on the lookup thread): finds 10.0.0.9 or four addresses
// (port 443), fails, or says the name does not exist; counts its calls.
struct FakeResolver {
    enum Mode { found, found_four, fails, no_such_name };
    static inline std::atomic<int> mode{found};
    static inline std::atomic<int> calls{0};
    static inline std::mutex mutex;
    static inline std::string host;

    static void reset(Mode m) {
        mode = m;
        calls = 0;
    }
    static std::string last_host() {
        const std::lock_guard<std::mutex> lock(mutex);
        return host;
    }
    static HostLookup::Answer resolve(const std::string& name, std::uint16_t port) {
        ++calls;
        {
            const std::lock_guard<std::mutex> lock(mutex);
            host = name;
        }
        switch (mode.load()) {
            case found:
                return {"",
                        false,
                        {boost::asio::ip::tcp::endpoint(boost::asio::ip::make_address("10.0.0.9"),
                                                        port)}};
            case found_four:
                return {"", false, {at("::1"), at("10.0.0.2"), at("::2"), at("10.0.0.1")}};
            case fails:
                return {"Temporary failure in name resolution", false, {}};
            default:
                return {"Name or service not known", true, {}};
        }
    }
};

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

        // Counted with the stand-in resolver: two waiters, one call.
        FakeResolver::reset(FakeResolver::found);
        HostLookup counted(io, std::chrono::seconds(1), &FakeResolver::resolve);
        int counted_answers = 0;
        for (int i = 0; i < 2; ++i) {
            counted.lookup("h.test", 443, [&](const std::string&, const HostLookup::Addresses&) {
                ++counted_answers;
            });
        }
        run_until(
            io, [&] { return counted_answers == 2; }, std::chrono::seconds(10));
        CHECK(counted_answers == 2);
        CHECK(FakeResolver::calls == 1);
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
        FakeResolver::reset(FakeResolver::found);
        HostLookup lookup(io, std::chrono::seconds(1), &FakeResolver::resolve);
        CHECK(lookup.known("h.test:443") == nullptr);
        lookup.remember("h.test", 443, {at("10.0.0.1")});
        REQUIRE(lookup.known("h.test:443") != nullptr);
        CHECK(*lookup.known("h.test:443") == HostLookup::Addresses{at("10.0.0.1")});
        CHECK(lookup.known("h.test:80") == nullptr);
        CHECK(lookup.names_in_flight() == 0);  // fresh: nothing looked up

        std::this_thread::sleep_for(std::chrono::milliseconds(1100));
        for (int i = 0; i < 3; ++i) {  // stale: given at once, and refreshed once
            REQUIRE(lookup.known("h.test:443") != nullptr);
            CHECK(*lookup.known("h.test:443") == HostLookup::Addresses{at("10.0.0.1")});
        }
        CHECK(lookup.names_in_flight() == 1);
        wait_for_lookups(io, lookup);
        REQUIRE(lookup.known("h.test:443") != nullptr);
        CHECK(*lookup.known("h.test:443") == HostLookup::Addresses{at("10.0.0.9")});
        CHECK(lookup.names_in_flight() == 0);  // fresh again
        CHECK(FakeResolver::calls == 1);
        CHECK(FakeResolver::last_host() == "h.test");
    }

    TEST_CASE("a refresh that fails keeps the old addresses and is tried again only later") {
        boost::asio::io_context io;
        FakeResolver::reset(FakeResolver::fails);
        HostLookup lookup(io, std::chrono::milliseconds(0), &FakeResolver::resolve,
                          std::chrono::seconds(1));
        lookup.remember("h.test", 443, {at("10.0.0.1")});
        REQUIRE(lookup.known("h.test:443") != nullptr);  // stale at once: a refresh starts
        wait_for_lookups(io, lookup);
        for (int i = 0; i < 5; ++i) {  // within the retry delay: no new lookup
            REQUIRE(lookup.known("h.test:443") != nullptr);
            CHECK(*lookup.known("h.test:443") == HostLookup::Addresses{at("10.0.0.1")});
        }
        CHECK(lookup.names_in_flight() == 0);
        CHECK(FakeResolver::calls == 1);
        std::this_thread::sleep_for(std::chrono::milliseconds(1100));
        REQUIRE(lookup.known("h.test:443") != nullptr);  // after it: the next refresh
        CHECK(lookup.names_in_flight() == 1);
        wait_for_lookups(io, lookup);
        CHECK(FakeResolver::calls == 2);
    }

    TEST_CASE("an answer that the name does not exist forgets the old addresses") {
        boost::asio::io_context io;
        FakeResolver::reset(FakeResolver::no_such_name);
        HostLookup lookup(io, std::chrono::milliseconds(0), &FakeResolver::resolve);
        lookup.remember("h.test", 443, {at("10.0.0.1")});
        REQUIRE(lookup.known("h.test:443") != nullptr);  // stale at once: a refresh starts
        wait_for_lookups(io, lookup);
        CHECK(lookup.known("h.test:443") == nullptr);
        CHECK(FakeResolver::calls == 1);
    }

    TEST_CASE(
        "the address that answered goes first, the families interleaved, its age kept, "
        "and it stays first through a refresh") {
        boost::asio::io_context io;
        FakeResolver::reset(FakeResolver::found_four);
        HostLookup lookup(io, std::chrono::seconds(2), &FakeResolver::resolve);
        lookup.remember("h.test", 443, {at("::1"), at("10.0.0.1"), at("::2"), at("10.0.0.2")});
        std::this_thread::sleep_for(std::chrono::milliseconds(500));
        lookup.prefer("h.test:443", at("10.0.0.1"));
        lookup.prefer("h.test:443", at("10.9.9.9"));  // not among them: nothing
        lookup.prefer("other:443", at("10.0.0.1"));   // not known: nothing
        REQUIRE(lookup.known("h.test:443") != nullptr);
        CHECK(*lookup.known("h.test:443") ==
              HostLookup::Addresses{at("10.0.0.1"), at("::1"), at("10.0.0.2"), at("::2")});
        CHECK(lookup.names_in_flight() == 0);
        std::this_thread::sleep_for(std::chrono::milliseconds(1700));
        REQUIRE(lookup.known("h.test:443") != nullptr);  // 2.2 s old: stale, as before prefer()
        CHECK(lookup.names_in_flight() == 1);
        wait_for_lookups(io, lookup);
        // The refresh answered ::1, 10.0.0.2, ::2, 10.0.0.1: 10.0.0.1 stays first.
        REQUIRE(lookup.known("h.test:443") != nullptr);
        CHECK(*lookup.known("h.test:443") ==
              HostLookup::Addresses{at("10.0.0.1"), at("::1"), at("10.0.0.2"), at("::2")});
    }

    TEST_CASE("the families alternate, each in the resolver's order, the first family first") {
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
