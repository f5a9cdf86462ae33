#include <doctest/doctest.h>

#include <cstring>
#include <string>

#include "util/field_writer.hpp"

TEST_CASE("copy_bytes copies exactly n bytes, for every size around its fixed-size moves") {
    std::string source(200, '\0');
    for (std::size_t i = 0; i < source.size(); ++i) source[i] = static_cast<char>('a' + i % 26);
    for (std::size_t n = 0; n <= 100; ++n) {
        for (std::size_t offset : {0, 1, 7}) {  // unaligned starts too
            CAPTURE(n);
            CAPTURE(offset);
            std::string to(n + 32, '#');
            llmgw::copy_bytes(to.data() + 16, source.data() + offset, n);
            CHECK(to.compare(0, 16, std::string(16, '#')) == 0);  // nothing before
            CHECK(to.compare(16, n, source, offset, n) == 0);
            CHECK(to.compare(16 + n, 16, std::string(16, '#')) == 0);  // nothing after
        }
    }
    llmgw::copy_bytes(nullptr, nullptr, 0);  // an empty view's null pointer is not read
}

TEST_CASE("put_field writes name, colon, space, value, CRLF and returns the end") {
    char out[64];
    const char* end = llmgw::put_field(out, "X-Id", "abc");
    CHECK(std::string(out, static_cast<std::size_t>(end - out)) == "X-Id: abc\r\n");
    CHECK(static_cast<std::size_t>(end - out) == llmgw::field_size("X-Id", "abc"));
}
