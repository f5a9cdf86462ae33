#include <doctest/doctest.h>

#include <stdexcept>
#include <string>

#include "server/http_out.hpp"

using llmgw::server::HeadWriter;

TEST_CASE("the head writer writes the status line, fields and blank line after what was there") {
    const std::string expected =
        "earlier bytes|HTTP/1.1 200 OK\r\n"
        "Content-Type: application/json\r\n"
        "X-Request-Id: req-1\r\n"
        "Content-Length: 18446744073709551615\r\n"
        "\r\n";
    std::string out = "earlier bytes|";
    {
        HeadWriter head(out, 200);
        head.add("Content-Type", "application/json");
        head.add_own("X-Request-Id", "req-1");
        head.add_decimal("Content-Length", 18446744073709551615ULL);
        head.finish();
        CHECK(out == expected);
        out.clear();  // written out (flushed) before the writer goes: the buffer is the caller's
    }
    CHECK(out.empty());  // the destructor leaves it as it is
}

TEST_CASE("the head writer leaves out a field from elsewhere whose value would break its line") {
    std::string out;
    HeadWriter head(out, 502);
    head.add("X-Bad", "a\r\nInjected: yes");
    head.add("X-Nul", std::string_view("a\0b", 3));
    head.add("X-Lf", "a\nb");
    head.add("X-Good", "tab\tand spaces ok");
    head.finish();
    CHECK(out == "HTTP/1.1 502 Bad Gateway\r\nX-Good: tab\tand spaces ok\r\n\r\n");
}

TEST_CASE("the head writer grows past its first block, and any status has a line") {
    std::string out;
    const std::string big(5000, 'v');
    HeadWriter head(out, 299);
    for (int i = 0; i < 3; ++i) head.add_own("X-Big", big);
    head.add("X-After", "end");
    head.finish();
    const std::string field = "X-Big: " + big + "\r\n";
    CHECK(out == "HTTP/1.1 299 \r\n" + field + field + field + "X-After: end\r\n\r\n");

    std::string negative;
    HeadWriter odd(negative, -5);
    odd.finish();
    CHECK(negative == "HTTP/1.1 0 \r\n\r\n");
}

TEST_CASE("a head writer left without finish() cuts the buffer back to what it wrote") {
    std::string out = "kept";
    try {
        HeadWriter head(out, 200);
        head.add_own("X-A", "1");
        throw std::runtime_error("before finish");
    } catch (const std::runtime_error&) {
    }
    CHECK(out == "keptHTTP/1.1 200 OK\r\nX-A: 1\r\n");
}
