#include <doctest/doctest.h>

#include "config/base_url.hpp"

using llmgw::config::parse_base_url;

namespace {

std::string reason(std::string_view text) {
    auto url = parse_base_url(text);
    return url ? std::string("ok: ") + url->text : url.error();
}

}  // namespace

TEST_CASE("config: base_url is split and made canonical") {
    auto url = parse_base_url("HTTPS://API.Example.com:8443/v1/");
    REQUIRE(url);
    CHECK(url->scheme == "https");
    CHECK(url->host == "api.example.com");
    CHECK(url->port == 8443);
    CHECK(url->base_path == "/v1");
    CHECK(url->text == "https://api.example.com:8443/v1");

    CHECK(reason("https://x.com:443") == "ok: https://x.com");
    CHECK(reason("http://x.com:80/") == "ok: http://x.com");
    CHECK(reason("http://x.com:443") == "ok: http://x.com:443");
    CHECK(reason("http://[::1]:8080/a/b") == "ok: http://[::1]:8080/a/b");
    CHECK(parse_base_url("http://[::1]")->host == "::1");
}

TEST_CASE("config: bad base_url values are refused with a reason") {
    CHECK(reason("api.openai.com") == "must start with http:// or https://");
    CHECK(reason("ftp://x.com") == "scheme must be http or https");
    CHECK(reason("https://user:pw@x.com") == "user info ('@') is not allowed");
    CHECK(reason("https://x.com/v1?x=1") == "a query or fragment is not allowed");
    CHECK(reason("https://x.com/#top") == "a query or fragment is not allowed");
    CHECK(reason("https://") == "host is empty");
    CHECK(reason("https:///v1") == "host is empty");
    CHECK(reason("https://:80") == "host is empty");
    CHECK(reason("https://x.com:") == "port must be a number from 1 to 65535");
    CHECK(reason("https://x.com:0") == "port must be a number from 1 to 65535");
    CHECK(reason("https://x.com:65536") == "port must be a number from 1 to 65535");
    CHECK(reason("https://x.com:8a") == "port must be a number from 1 to 65535");
    CHECK(reason("https://x y.com") == "host has an invalid character ' '");
    CHECK(reason("https://x.com/a b") == "base path has an invalid character ' '");
    CHECK(reason("https://x.com/a/../b") == "base path has an empty, '.' or '..' segment");
    CHECK(reason("https://x.com/a//b") == "base path has an empty, '.' or '..' segment");
    CHECK(reason("https://[::1") == "bad IPv6 host");
    // Before: each was accepted and failed later, as a DNS error on every request.
    CHECK(reason("http://.") == "host name has an empty label ('..')");
    CHECK(reason("http://a..b") == "host name has an empty label ('..')");
    CHECK(reason("http://.a") == "host name has an empty label ('..')");
    CHECK(reason("http://-x-") == "host name has a label that starts or ends with '-'");
    CHECK(reason("http://a.-b.com") == "host name has a label that starts or ends with '-'");
    CHECK(reason("http://" + std::string(64, 'a') + ".com") ==
          "host name has a label longer than 63 characters");
    CHECK(reason("http://[:]") == "bad IPv6 host");
    CHECK(reason("http://[1.2.3.4]:81") == "bad IPv6 host");  // before: became http://1.2.3.4:81
    CHECK(reason("http://[::1::2]") == "bad IPv6 host");
}

TEST_CASE("config: host names that are fine") {
    CHECK(reason("http://" + std::string(63, 'a') + ".com") ==
          "ok: http://" + std::string(63, 'a') + ".com");
    CHECK(reason("https://api.openai.com.") == "ok: https://api.openai.com.");  // fully qualified
    CHECK(reason("http://my_host-1.local:8080") == "ok: http://my_host-1.local:8080");
    CHECK(reason("http://[::ffff:127.0.0.1]:81") == "ok: http://[::ffff:127.0.0.1]:81");
    CHECK(reason("http://127.0.0.1") == "ok: http://127.0.0.1");
}
