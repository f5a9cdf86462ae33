#include <doctest/doctest.h>

#include "util/redact.hpp"

using llmgw::redact_target;
using llmgw::redact_userinfo_in_message;

TEST_SUITE("util.redact") {
    TEST_CASE("a target's credential parameters and absolute-form user info are ***") {
        CHECK(redact_target("/gateway/gemini/v1/m?key=AIza123&alt=sse") ==
              "/gateway/gemini/v1/m?key=***&alt=sse");
        CHECK(redact_target("/gateway/x/v1?%6Bey=s&token=t&other=o") ==
              "/gateway/x/v1?%6Bey=***&token=***&other=o");
        // Before: logged as sent (absolute-form targets are routed since this session).
        CHECK(redact_target("http://u:sk-live@127.0.0.1:8787/gateway/openai/v1/models?key=k") ==
              "http://***@127.0.0.1:8787/gateway/openai/v1/models?key=***");
        CHECK(redact_target("http://u:p@q@h:1/") == "http://***@h:1/");  // the last '@' ends it
        // The secret headers' names as query parameters, and Azure's SAS signature (before,
        // logged as sent: found by a trial with the provider SDKs).
        CHECK(redact_target("/x?api-key=a&X-Goog-Api-Key=b&apikey=c&sig=d&client_secret=e&v=1") ==
              "/x?api-key=***&X-Goog-Api-Key=***&apikey=***&sig=***&client_secret=***&v=1");
        CHECK(redact_target("http://h/p?refresh_token=r&password=p&keys=k") ==
              "http://h/p?refresh_token=***&password=***&keys=k");
        // No user info: unchanged, an '@' in the path or the query included.
        for (const char* same :
             {"/gateway/openai/v1/models", "http://h/a@b", "http://h?x=a@b", "://", "x://"}) {
            CHECK(redact_target(same) == same);
        }
    }
}

TEST_SUITE("util.redact") {
    TEST_CASE("in a message, every word with an '@' hides what comes before its last '@'") {
        // libcurl quotes a proxy string it cannot parse whole; its password may hold '#' or
        // '/' unencoded, or have no scheme. redact_target's strict form would leave these whole.
        CHECK(
            redact_userinfo_in_message("Unsupported proxy syntax in 'http://corp:p#ss@proxy:3128': "
                                       "Port number was not a decimal number") ==
            "Unsupported proxy syntax in 'http://***@proxy:3128': Port number was not a decimal "
            "number");
        CHECK(redact_userinfo_in_message("proxy user:pa/ss@proxy:3128 refused") ==
              "proxy ***@proxy:3128 refused");
        CHECK(redact_userinfo_in_message("a 'https://u:sk#1@h' b") == "a 'https://***@h' b");
        CHECK(redact_userinfo_in_message(
                  "Unsupported proxy scheme for 'htp://corp:S3cret@proxy:3128'") ==
              "Unsupported proxy scheme for 'htp://***@proxy:3128'");
        CHECK(redact_userinfo_in_message("a http://u:p@h/x b https://v@w c") ==
              "a http://***@h/x b https://***@w c");
        CHECK(redact_userinfo_in_message("Could not resolve host: api.openai.com") ==
              "Could not resolve host: api.openai.com");
    }
}
