// Every TOML error reads "FILE:LINE:COL: message".
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "config/rules.hpp"
#include "routing/router.hpp"
#include "test_config_fakes.hpp"

using llmgw::test::FakeSystem;

TEST_CASE("config: TOML syntax errors carry line and column") {
    FakeSystem sys;
    CHECK(sys.error_with_file("[gateway]\nport = \n") ==
          "/u.toml:2:8: Error while parsing key-value pair: expected value, saw '\\n'");
    CHECK(
        sys.error_with_file("[gateway]\nport = 1\nport = 2\n") ==
        "/u.toml:3:8: Error while parsing key-value pair: cannot redefine existing integer 'port'");
}

TEST_CASE("config: unknown keys are errors at the key") {
    FakeSystem sys;
    CHECK(sys.error_with_file("\n[services.openai]\ntimout_ms = 5\n") ==
          "/u.toml:3:1: unknown key 'timout_ms' in [services.openai]");
    CHECK(sys.error_with_file("[gateway]\n  prot = 1\n") ==
          "/u.toml:2:3: unknown key 'prot' in [gateway]");
    CHECK(sys.error_with_file("[routing]\nlong = []\n") ==
          "/u.toml:2:1: unknown key 'long' in [routing]");
    CHECK(sys.error_with_file("[service.openai]\n") ==
          "/u.toml:1:2: unknown key 'service' at the top level");
    CHECK(sys.error_with_file("port = 1\n") == "/u.toml:1:1: unknown key 'port' at the top level");
}

TEST_CASE("config: wrong types are errors at the value") {
    FakeSystem sys;
    CHECK(sys.error_with_file("[gateway]\nport = \"8080\"\n") ==
          "/u.toml:2:8: 'port' in [gateway] must be an integer, not a string");
    CHECK(sys.error_with_file("[gateway]\nenable_retry = 1\n") ==
          "/u.toml:2:16: 'enable_retry' in [gateway] must be true or false, not an integer");
    CHECK(sys.error_with_file("[services.openai]\ntimeout_ms = 1.5\n") ==
          "/u.toml:2:14: 'timeout_ms' in [services.openai] must be an integer, not a "
          "floating-point number");
    CHECK(sys.error_with_file("[services.openai]\naliases = \"oa\"\n") ==
          "/u.toml:2:11: 'aliases' in [services.openai] must be an array of strings, not a string");
    CHECK(
        sys.error_with_file("[services.openai]\naliases = [\"a\", 2]\n") ==
        "/u.toml:2:17: 'aliases' in [services.openai] must be an array of strings, not an integer");
    CHECK(sys.error_with_file("[services.openai]\nheaders = { x-a = 1 }\n") ==
          "/u.toml:2:19: 'x-a' in [services.openai.headers] must be a string, not an integer");
    CHECK(sys.error_with_file("gateway = 1\n") ==
          "/u.toml:1:11: 'gateway' at the top level must be a table, not an integer");
    CHECK(sys.error_with_file("[services]\nopenai = 1\n") ==
          "/u.toml:2:10: 'openai' in [services] must be a table, not an integer");
}

TEST_CASE("config: numbers out of range") {
    FakeSystem sys;
    CHECK(sys.error_with_file("[services.openai]\nmax_retries = -1\n") ==
          "/u.toml:2:15: 'max_retries' in [services.openai] must be between 0 and 100");
    CHECK(sys.error_with_file("[services.openai]\ntimeout_ms = 0\n") ==
          "/u.toml:2:14: 'timeout_ms' in [services.openai] must be between 1 and 86400000");
    CHECK(sys.error_with_file("[gateway]\nport = 70000\n") ==
          "/u.toml:2:8: 'port' in [gateway] must be between 0 and 65535");
    CHECK(sys.error_with_file("[gateway]\nbackground_timeout_ms = 300001\n") ==
          "/u.toml:2:25: 'background_timeout_ms' in [gateway] must be between 1 and 300000");
    CHECK(sys.error_with_file("[gateway]\nmax_response_size = -1\n") ==
          "/u.toml:2:21: 'max_response_size' in [gateway] must be at least 0");
    CHECK(sys.error_with_file("[gateway]\nbusy_poll_us = 1001\n") ==
          "/u.toml:2:16: 'busy_poll_us' in [gateway] must be between 0 and 1000");
    CHECK(sys.error_with_file("[gateway]\nupstream_keepalive = -1\n") ==
          "/u.toml:2:22: 'upstream_keepalive' in [gateway] must be between 0 and 65536");
    CHECK(sys.error_with_file("[gateway]\nupstream_keepalive_timeout_ms = 0\n") ==
          "/u.toml:2:33: 'upstream_keepalive_timeout_ms' in [gateway] must be between 1 and "
          "86400000");
}

TEST_CASE("config: bad base_url values") {
    FakeSystem sys;
    CHECK(sys.error_with_file("[services.openai]\nbase_url = \"api.openai.com\"\n") ==
          "/u.toml:2:12: bad base_url 'api.openai.com' in [services.openai]: must start with "
          "http:// or https://");
    CHECK(sys.error_with_file("[services.openai]\nbase_url = \"ftp://api.openai.com\"\n") ==
          "/u.toml:2:12: bad base_url 'ftp://api.openai.com' in [services.openai]: scheme must be "
          "http or https");
    CHECK(sys.error_with_file("[services.openai]\nbase_url = \"https://u@evil.com\"\n") ==
          "/u.toml:2:12: bad base_url 'https://***@evil.com' in [services.openai]: user info ('@') "
          "is not allowed");
    CHECK(sys.error_with_file("[services.openai]\nbase_url = \"https://x.com/v1?a=b\"\n") ==
          "/u.toml:2:12: bad base_url 'https://x.com/v1?a=b' in [services.openai]: a query or "
          "fragment is not allowed");
    CHECK(sys.error_with_file("[services.openai]\nbase_url = \"https://:99\"\n") ==
          "/u.toml:2:12: bad base_url 'https://:99' in [services.openai]: host is empty");
    CHECK(sys.error_with_file("[services.openai]\nbase_url = \"https://x.com:99999\"\n") ==
          "/u.toml:2:12: bad base_url 'https://x.com:99999' in [services.openai]: port must be a "
          "number from 1 to 65535");
}

TEST_CASE("config: bad values of checked strings") {
    FakeSystem sys;
    CHECK(sys.error_with_file("[gateway]\nlog_level = \"loud\"\n") ==
          "/u.toml:2:13: bad log_level 'loud' in [gateway]: not a log level (use debug, info, warn "
          "or error)");
    CHECK(sys.error_with_file("[gateway]\nlog_format = \"xml\"\n") ==
          "/u.toml:2:14: bad log_format 'xml' in [gateway]: not a log format (use text or json)");
    CHECK(sys.error_with_file("[services.openai]\nretry_methods = [\"GET\", \"P OST\"]\n") ==
          "/u.toml:2:25: bad retry_methods 'P OST' in [services.openai]: not an HTTP method name");
    CHECK(sys.error_with_file("[services.openai]\naliases = [\"Open AI\"]\n") ==
          "/u.toml:2:12: bad aliases 'Open AI' in [services.openai]: "
          "not a service name (use lower-case letters, digits, '-' and '_')");
    CHECK(
        sys.error_with_file("[services.openai]\nheaders = { \"x\\ny\" = \"1\" }\n") ==
        "/u.toml:2:13: bad header name 'x\\x0ay' in [services.openai.headers]: not a header name");
    CHECK(
        sys.error_with_file("[services.openai]\nheaders = { x = \"a\\r\\nb\" }\n") ==
        "/u.toml:2:17: bad value of header 'x' in [services.openai.headers]: a header value cannot "
        "contain a control character (CR, LF, NUL, …)");
    // Before: accepted, and `llmgw services` printed a table with a broken row (a review).
    CHECK(sys.error_with_file("[services.openai]\ndescription = \"a\\nb\"\n") ==
          "/u.toml:2:15: bad description 'a\\x0ab' in [services.openai]: must be one line, "
          "without control characters");
    for (const char* other : {"a\\u0085b", "a\\u2028b", "a\\u2029b", "a\\u009fb"}) {
        CAPTURE(other);
        CHECK(
            sys.error_with_file(std::string("[services.openai]\ndescription = \"") + other + "\"\n")
                .ends_with("must be one line, without control characters"));
    }
    CHECK(sys.error_with_file("[services.openai]\ndescription = \"caf\\u00e9\\ta \\u2027\"\n") ==
          "");
    // Before: accepted, the lower-case spelling winning whatever was written last (a review).
    CHECK(sys.error_with_file("[services.anthropic]\nheaders = { \"X-A\" = \"2\", \"x-a\" = "
                              "\"1\" }\n") ==
          "/u.toml:2:13: header 'X-A' is given twice in [services.anthropic.headers], as 'x-a' "
          "too (header names ignore case)");
    // Before: any control but CR, LF and NUL went upstream as written.
    CHECK(
        sys.error_with_file("[services.openai]\nheaders = { x = \"a\\u0001b\" }\n") ==
        "/u.toml:2:17: bad value of header 'x' in [services.openai.headers]: a header value cannot "
        "contain a control character (CR, LF, NUL, …)");
    CHECK(
        sys.error_with_file("[services.openai]\nheaders = { x = \"a\\u007fb\" }\n") ==
        "/u.toml:2:17: bad value of header 'x' in [services.openai.headers]: a header value cannot "
        "contain a control character (CR, LF, NUL, …)");
    CHECK(sys.error_with_file("[services.openai]\napi_key_prefix = \"Bearer sk-9\\n\"\n") ==
          "/u.toml:2:18: bad api_key_prefix in [services.openai]: a header value cannot contain a "
          "control character (CR, LF, NUL, …)");
    CHECK(sys.error_with_file("[services.openai]\nbase_url = \"https://u:sk#1@h.example\"\n")
              .find("sk#1") == std::string::npos);
    // A header's value is never repeated: it may be a key (before: printed whole).
    CHECK(sys.error_with_file(
              "[services.openai.headers]\nAuthorization = \"Bearer sk-proj-abc\\n\"\n") ==
          "/u.toml:2:17: bad value of header 'Authorization' in [services.openai.headers]: a "
          "header value cannot contain a control character (CR, LF, NUL, …)");
    CHECK(sys.error_with_file("[services.openai]\nbase_url = \"https://u:sk-1@h.example\"\n") ==
          "/u.toml:2:12: bad base_url 'https://***@h.example' in [services.openai]: user info "
          "('@') is not allowed");
    // Before: accepted, and libcurl sent them as written (two contradicting lengths).
    for (const char* name : {"Content-Length", "transfer-encoding", "Connection", "TE", "Expect",
                             "Upgrade", "Keep-Alive", "Trailer", "Proxy-Connection"}) {
        CAPTURE(name);
        CHECK(sys.error_with_file("[services.openai]\nheaders = { \"" + std::string(name) +
                                  "\" = \"1\" }\n") ==
              "/u.toml:2:13: bad header name '" + std::string(name) +
                  "' in [services.openai.headers]: llmgw writes it for each request (it frames "
                  "the message or the connection)");
    }
    CHECK(sys.error_with_file("[services.openai]\napi_key_header = \"Content-Length\"\n") ==
          "/u.toml:2:18: bad api_key_header 'Content-Length' in [services.openai]: llmgw writes it "
          "for each request (it frames the message or the connection)");
    CHECK(sys.error_with_file("[services.openai]\napi_key_env = \"1KEY\"\n") ==
          "/u.toml:2:15: bad api_key_env '1KEY' in [services.openai]: not an environment variable "
          "name");
    CHECK(sys.error_with_file("[routing]\nlong_prefixes = [\"v1/x\"]\n") ==
          "/u.toml:2:18: bad long_prefixes 'v1/x' in [routing]: a path prefix must start with '/'");
    // Rules that could never match (found by a read-only review on 12-02): the router compares
    // the decoded path without its query, and a suffix with the last segment only.
    const struct {
        const char* key;
        std::vector<const char*> values;
        const char* reason;
    } never_matching[] = {
        {"long_prefixes",
         {"/v1/chat?x", "/v1/f%69les", "/v1/x#y"},
         "a path prefix is compared with the decoded path without its query: no '?', '#' or "
         "'%'"},
        {"long_suffixes",
         {"/embeddings", ":x?y", "%3Apredict"},
         "a suffix is compared with the decoded last segment of the path: no '/', '?', '#' or "
         "'%'"},
    };
    for (const auto& rule : never_matching) {
        for (const char* value : rule.values) {
            CHECK(sys.error_with_file(std::string("[routing]\n") + rule.key + " = [\"" + value +
                                      "\"]\n") == std::string("/u.toml:2:18: bad ") + rule.key +
                                                      " '" + value +
                                                      "' in [routing]: " + rule.reason);
        }
    }
    CHECK(sys.error_with_file("[routing]\nlong_suffixes = [\"\"]\n") ==
          "/u.toml:2:18: bad long_suffixes '' in [routing]: must not be empty");
}

TEST_CASE("config: allowed_origin is '*' or origins as browsers send them") {
    FakeSystem sys;
    const auto origin_error = [&](const std::string& value) {
        return sys.error_with_file("[gateway]\nallowed_origin = \"" + value + "\"\n");
    };
    // Before: each was accepted and matched no Origin a browser sends, so CORS failed silently.
    CHECK(origin_error("https://app.example.com/") ==
          "/u.toml:2:18: bad allowed_origin 'https://app.example.com/' in [gateway]: "
          "'https://app.example.com/' is not an origin: a scheme and host with an optional port, "
          "no path or trailing '/' (browsers send https://app.example.com)");
    CHECK(origin_error("*, https://x.example") ==
          "/u.toml:2:18: bad allowed_origin '*, https://x.example' in [gateway]: '*' allows every "
          "origin and must stand alone");
    CHECK(origin_error("app.example.com") ==
          "/u.toml:2:18: bad allowed_origin 'app.example.com' in [gateway]: 'app.example.com' is "
          "not an origin such as https://app.example.com");
    CHECK(origin_error("https://a.example,") ==
          "/u.toml:2:18: bad allowed_origin 'https://a.example,' in [gateway]: '' is not an "
          "origin such as https://app.example.com");
    // Before: accepted, and matching no Origin a browser sends (found by reviews).
    for (const std::string bad :
         {"https://:80", "https://a.com\\\\", "https://a..com", "https://.a.com", "https://a b.com",
          "https://[::1", "https://", "https://\xc3\xa9.com", "http://[:]", "http://[....]",
          "http://1.2.3.4.5", "http://01.2.3.4", "http://a%2eb"}) {
        CAPTURE(bad);
        CHECK(origin_error(bad).find("is not an origin: its host is no host name or IP address as "
                                     "browsers send them (https://app.example.com, "
                                     "http://127.0.0.1, http://[::1])") != std::string::npos);
    }
    for (const std::string bad : {"https://a.com:xyz", "https://a.com:", "https://a.com:99999",
                                  "https://a.com:123456", "https://a.com:-1"}) {
        CAPTURE(bad);
        CHECK(origin_error(bad).find("is not an origin: its port is no number from 0 to 65535") !=
              std::string::npos);
    }
    FakeSystem env;
    env.env["ALLOWED_ORIGIN"] = "https://app.example.com/x";
    CHECK(env.error().find("ALLOWED_ORIGIN='https://app.example.com/x': ") == 0);
    // Written in any case, kept as browsers send it; "null" (a file:// page) and ports pass.
    // As browsers serialize them: a default port left out, a port without leading zeros, an
    // IPv6 address in the URL Standard's short form.
    sys.files["/u.toml"] =
        "[gateway]\nallowed_origin = \" HTTPS://App.Example.com:8443 ,null,http://[::1]:3000,"
        "https://a.example:443,http://b.example:80,http://c.example:443,chrome-extension://abc,"
        "http://d.example.,http://x:080,https://y:0443,http://[0:0:0:0:0:0:0:1],"
        "http://[::ffff:1.2.3.4],http://[1:0:0:2:0:0:0:3],http://[2001:DB8::0:1],"
        "http://127.0.0.1:8080\"\n";
    const auto cfg = sys.load({}, "/u.toml");
    REQUIRE(cfg);
    CHECK(cfg->gateway.allowed_origin ==
          "https://app.example.com:8443, null, http://[::1]:3000, https://a.example, "
          "http://b.example, http://c.example:443, chrome-extension://abc, http://d.example., "
          "http://x, https://y, http://[::1], http://[::ffff:102:304], http://[1:0:0:2::3], "
          "http://[2001:db8::1], http://127.0.0.1:8080");
}

TEST_CASE("config: a file that starts with a UTF-8 byte order mark loads") {
    FakeSystem sys;
    // Before: ":1:1: non-ASCII character outside a string or comment".
    CHECK(sys.error_with_file("\xEF\xBB\xBF[services.openai]\ntimeout_ms = 5\n") == "");
    // Only at the very start: elsewhere it is still refused, at its place.
    CHECK(sys.error_with_file("[services.openai]\n\xEF\xBB\xBFtimeout_ms = 5\n") ==
          "/u.toml:2:1: non-ASCII character outside a string or comment (TOML keys and values "
          "other than strings are ASCII)");
}

TEST_CASE("config: service names and new services") {
    FakeSystem sys;
    CHECK(sys.error_with_file("[services.OpenAI]\ntimeout_ms = 1\n") ==
          "/u.toml:1:11: bad service name 'OpenAI' in [services]: "
          "not a service name (use lower-case letters, digits, '-' and '_')");
    CHECK(sys.error_with_file("\n\n[services.mine]\ntimeout_ms = 1\n") ==
          "/u.toml:3:1: new service [services.mine] needs a base_url");
    CHECK(sys.error_with_file("[services.mine]\nenabled = false\n") ==
          "/u.toml:1:1: new service [services.mine] needs a base_url");
}

TEST_CASE("config: alias collisions") {
    FakeSystem sys;
    CHECK(
        sys.error_with_file("[services.mine]\nbase_url = \"http://h\"\naliases = [\"claude\"]\n") ==
        "/u.toml:3:11: alias 'claude' of service 'mine' is already the name or an alias of service "
        "'anthropic'");
    // A name that sorts before the built-in holder's: still the user file's line (a review
    // found the built-in anthropic blamed at its own line).
    CHECK(
        sys.error_with_file("[services.aaa]\nbase_url = \"http://h\"\naliases = [\"claude\"]\n") ==
        "/u.toml:3:11: alias 'claude' of service 'aaa' is already the name or an alias of service "
        "'anthropic'");
    // Before: "alias 'openai' of service 'mine' (/u.toml) is ...", without the line.
    CHECK(
        sys.error_with_file("[services.mine]\nbase_url = \"http://h\"\naliases = [\"openai\"]\n") ==
        "/u.toml:3:11: alias 'openai' of service 'mine' is already the name or an alias of service "
        "'openai'");
    // Before: the built-in anthropic was blamed, with no line.
    CHECK(sys.error_with_file("[services.claude]\nbase_url = \"http://h\"\n") ==
          "/u.toml:1:11: 'claude' is an alias of service 'anthropic': change it as "
          "[services.anthropic]");
    // Before: "new service [services.claude] needs a base_url".
    CHECK(sys.error_with_file("[services.claude]\ntimeout_ms = 5\n") ==
          "/u.toml:1:11: 'claude' is an alias of service 'anthropic': change it as "
          "[services.anthropic]");
    // An alias freed by a disabled service can name a new one.
    CHECK(sys.error_with_file("[services.anthropic]\nenabled = false\n"
                              "[services.claude]\nbase_url = \"http://h\"\n") == "");
    // Before: "... is already the name or an alias of service 'openai'", itself.
    CHECK(sys.error_with_file("[services.openai]\naliases = [\"gpt\", \"gpt\"]\n") ==
          "/u.toml:2:11: alias 'gpt' of service 'openai' repeats its name or another of its "
          "aliases");
    FakeSystem proxy;
    proxy.env["PROXY_CONFIG"] = R"({"claude":{"timeout":5}})";
    CHECK(proxy.error() ==
          "PROXY_CONFIG: service 'claude': is an alias of service 'anthropic': change it as "
          "'anthropic'");
}

TEST_CASE("config: a listen host with a port is refused where it is written") {
    FakeSystem sys;
    // Before: loaded, then serve exited 1 with "cannot resolve '127.0.0.1:9000'".
    CHECK(sys.error_with_file("[gateway]\nhost = \"127.0.0.1:9000\"\n") ==
          "/u.toml:2:8: bad host '127.0.0.1:9000' in [gateway]: not a host name or address (the "
          "port is a setting of its own: port, --port)");
    CHECK(llmgw::config::as_listen_host("localhost:1").has_value() == false);
    CHECK(llmgw::config::as_listen_host("::").value() == "::");
    CHECK(llmgw::config::as_listen_host("fe80::1").value() == "fe80::1");
    CHECK(llmgw::config::as_listen_host("fe80::1%eth0").value() == "fe80::1%eth0");  // a zone
}

TEST_CASE("config: a listen host in brackets is an IPv6 address, as in a URL") {
    CHECK(llmgw::config::as_listen_host("[::1]").value() == "::1");
    CHECK(llmgw::config::as_listen_host("[::]").value() == "::");
    CHECK(llmgw::config::as_listen_host("::1").value() == "::1");
    CHECK(llmgw::config::as_listen_host("localhost").value() == "localhost");
    CHECK_FALSE(llmgw::config::as_listen_host("[]").has_value());
    CHECK_FALSE(llmgw::config::as_listen_host("[localhost]").has_value());
    CHECK_FALSE(llmgw::config::as_listen_host("[::1").has_value());
    CHECK_FALSE(llmgw::config::as_listen_host("a b").has_value());
}

TEST_CASE("config: a disabled service is named as such, not as unknown") {
    FakeSystem sys;
    sys.files["/u.toml"] = "[services.groq]\nenabled = false\n";
    const auto config = sys.load({}, "/u.toml");
    REQUIRE(config);
    CHECK(config->find("groq") == nullptr);
    REQUIRE(config->find_disabled("groq") != nullptr);
    const auto get = [&config](std::string_view target) {
        llmgw::routing::RequestFacts facts;
        facts.method = "GET";
        facts.target = target;
        return llmgw::routing::route(*config, facts);
    };
    // Before: "Unknown service 'groq'. Available services: ..."
    for (const char* target : {"/gateway/groq/v1/models", "/gateway/GROQ/v1/models"}) {
        const auto routed = get(target);
        REQUIRE_FALSE(routed);
        const std::string name = std::string(target).substr(9, 4);
        CHECK(routed.error().for_terminal().starts_with(
            "Service '" + name +
            "' is disabled (enabled = false, from built-in + /u.toml). Available services: "));
        // A client of the gateway is not told the file's path (found by a review).
        CHECK(routed.error().message.starts_with("Service '" + name +
                                                 "' is disabled (enabled = false). Available "
                                                 "services: "));
    }
    const auto unknown = get("/gateway/nope/v1");
    REQUIRE_FALSE(unknown);
    CHECK(unknown.error().message.starts_with("Unknown service 'nope'."));
    // Named by an alias, the service is named too; PROXY_CONFIG naming the alias says so.
    // Before: "Service 'claude' is disabled", and "field 'host' is required for a new service".
    sys.files["/u.toml"] = "[services.anthropic]\nenabled = false\n";
    const auto off = sys.load({}, "/u.toml");
    REQUIRE(off);
    llmgw::routing::RequestFacts facts;
    facts.method = "GET";
    facts.target = "/gateway/claude/v1/messages";
    const auto routed = llmgw::routing::route(*off, facts);
    REQUIRE_FALSE(routed);
    CHECK(routed.error().message.starts_with(
        "Service 'claude' (an alias of anthropic) is disabled (enabled = false)."));
    sys.env["PROXY_CONFIG"] = R"({"Claude":{"timeout":5}})";
    CHECK(sys.error_with_file("[services.anthropic]\nenabled = false\n") ==
          "PROXY_CONFIG: service 'Claude': is an alias of service 'anthropic', which is disabled "
          "(enabled = false, from built-in + /u.toml)");
}
