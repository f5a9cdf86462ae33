// send_now: what a socket takes now, never blocking, never raising SIGPIPE.
#include <doctest/doctest.h>

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <string>

#include "util/send_now.hpp"

using llmgw::send_now;

TEST_SUITE("util.send_now") {
    TEST_CASE("both pieces in order; a full socket takes nothing; a closed peer is an error") {
        int fds[2];
        REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM, 0, fds) == 0);  // blocking sockets on purpose
        auto sent = send_now(fds[0], "head:", "body");
        CHECK(sent.error == 0);
        CHECK(sent.written == 9);
        char buf[16] = {};
        REQUIRE(::read(fds[1], buf, sizeof buf) == 9);
        CHECK(std::string(buf, 9) == "head:body");

        const std::string chunk(64 * 1024, 'x');
        std::size_t total = 0;
        for (int i = 0; i < 1000; ++i) {  // fills the buffers, then must not block
            sent = send_now(fds[0], chunk);
            REQUIRE(sent.error == 0);
            if (sent.written == 0) break;
            total += sent.written;
        }
        CHECK(total > 0);
        CHECK(sent.written == 0);  // full: "try later", not an error

        ::close(fds[1]);
        sent = send_now(fds[0], "late");
        CHECK(sent.written == 0);
        CHECK(sent.error == EPIPE);  // and the test process is still alive: no SIGPIPE
        ::close(fds[0]);
    }
}
