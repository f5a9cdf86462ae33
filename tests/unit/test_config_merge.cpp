#include <doctest/doctest.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <thread>

#include "test_config_fakes.hpp"

using namespace llmgw;
using llmgw::test::FakeSystem;

namespace {

config::Config load_with(FakeSystem& sys, const std::string& user_toml) {
    sys.files["/u.toml"] = user_toml;
    auto result = sys.load({}, "/u.toml");
    REQUIRE_MESSAGE(result.has_value(), (result ? "" : result.error().message));
    return *result;
}

}  // namespace

TEST_CASE("config: a user file changes one field and keeps the others") {
    FakeSystem sys;
    const config::Config cfg = load_with(sys, "[services.openai]\ntimeout_ms = 5000\n");
    const config::Service& openai = *cfg.find("openai");
    CHECK(openai.timeout_ms == 5000);
    CHECK(openai.max_response_bytes == 10485760u);
    CHECK(openai.base_url.text == "https://api.openai.com");
    CHECK(openai.auth.env == "OPENAI_API_KEY");
    CHECK(openai.origin == "built-in + /u.toml");
    CHECK(cfg.find("gemini")->origin == "built-in");
    CHECK(cfg.user_file == "/u.toml");
}

TEST_CASE("config: headers merge key by key, names case-insensitive") {
    FakeSystem sys;
    const config::Config cfg = load_with(sys,
                                         "[services.anthropic.headers]\n"
                                         "Anthropic-Version = \"2024-01-01\"\n"
                                         "anthropic-beta = \"tools\"\n");
    const Headers& h = cfg.find("claude")->headers;
    CHECK(h.size() == 2);
    CHECK(h.get("anthropic-version") == "2024-01-01");
    CHECK(h.get("anthropic-beta") == "tools");
}

TEST_CASE("config: an empty header value takes a default away; tab and Host are kept") {
    FakeSystem sys;
    const config::Config cfg = load_with(sys,
                                         "[services.anthropic.headers]\n"
                                         "anthropic-version = \"\"\n"
                                         "x-tab = \"a\\tb\"\n"
                                         "Host = \"llm.internal\"\n");
    const Headers& h = cfg.find("claude")->headers;
    CHECK_FALSE(h.contains("anthropic-version"));  // before: sent with an empty value
    CHECK(h.get("x-tab") == "a\tb");
    CHECK(h.get("host") == "llm.internal");  // a configured Host replaces the URL's authority
}

TEST_CASE("config: api_key_env and api_key_header \"\" turn a built-in key off") {
    FakeSystem sys;
    // Before: "not an environment variable name", "not a header name" (a review).
    const config::Config cfg =
        load_with(sys, "[services.openai]\napi_key_env = \"\"\napi_key_header = \"\"\n");
    CHECK(cfg.find("openai")->auth.env.empty());
    CHECK(cfg.find("openai")->auth.header.empty());
    CHECK(sys.error_with_file("[services.openai]\napi_key_env = \"A B\"\n")
              .find("not an environment variable name") != std::string::npos);
}

TEST_CASE("config: enabled = false removes a service and its aliases") {
    FakeSystem sys;
    const config::Config cfg = load_with(sys, "[services.anthropic]\nenabled = false\n");
    CHECK(cfg.find("anthropic") == nullptr);
    CHECK(cfg.find("claude") == nullptr);
    CHECK(cfg.services.size() == 22);
    CHECK(cfg.service_names().find("anthropic") == std::string::npos);
}

TEST_CASE("config: an alias freed by a removed service can be reused") {
    FakeSystem sys;
    const config::Config cfg =
        load_with(sys,
                  "[services.anthropic]\nenabled = false\n"
                  "[services.my-claude]\nbase_url = \"http://localhost:9000\"\n"
                  "aliases = [\"claude\"]\n");
    CHECK(cfg.find("claude")->name == "my-claude");
}

TEST_CASE("config: a new service is added with defaults and the file as origin") {
    FakeSystem sys;
    const config::Config cfg = load_with(sys,
                                         "[services.local]\n"
                                         "base_url = \"http://127.0.0.1:8000/v1/\"\n"
                                         "aliases = [\"lm\"]\n"
                                         "headers = { X-Team = \"a\" }\n"
                                         "max_retries = 0\n"
                                         "retry_methods = [\"get\", \"post\", \"purge\"]\n"
                                         "max_response_bytes = 0\n"
                                         "streaming = false\n"
                                         "fallback = false\n"
                                         "description = \"my box\"\n"
                                         "api_key_env = \"LOCAL_KEY\"\n"
                                         "api_key_header = \"api-key\"\n"
                                         "api_key_prefix = \"\"\n");
    CHECK(cfg.services.size() == 24);
    const config::Service& s = *cfg.find("LM");
    CHECK(s.name == "local");
    CHECK(s.origin == "/u.toml");
    CHECK(s.base_url.text == "http://127.0.0.1:8000/v1");
    CHECK(s.base_url.base_path == "/v1");
    CHECK(s.headers.get("x-team") == "a");
    CHECK(s.max_retries == 0);
    CHECK(s.retry_methods == std::vector<std::string>{"GET", "POST", "purge"});
    CHECK(s.max_response_bytes == 0u);
    CHECK_FALSE(s.streaming);
    CHECK_FALSE(s.fallback);
    CHECK(s.description == "my box");
    CHECK(s.auth.env == "LOCAL_KEY");
    CHECK(s.auth.header == "api-key");
    CHECK_FALSE(s.timeout_ms.has_value());
}

TEST_CASE("config: gateway and routing tables of a user file") {
    FakeSystem sys;
    const config::Config cfg =
        load_with(sys,
                  "[gateway]\n"
                  "host = \"0.0.0.0\"\nport = 9000\nallowed_origin = \"https://a.com\"\n"
                  "default_timeout_ms = 1000\nbackground_timeout_ms = 300000\n"
                  "max_response_size = 0\nenable_retry = false\nenable_fallback = false\n"
                  "log_level = \"DEBUG\"\nlog_format = \"json\"\n"
                  "stream_idle_timeout_ms = 5\nbackground_slots = 2\n"
                  "background_queue_max = 3\nbackground_queue_timeout_ms = 4\n"
                  "max_request_bytes = 6\nmax_retry_after_ms = 7\n"
                  "keepalive_timeout_ms = 8\nheader_timeout_ms = 9\nsend_timeout_ms = 13\n"
                  "drain_timeout_ms = 10\nthreads = 11\nmax_connections = 12\n"
                  "busy_poll_us = 14\nupstream_keepalive = 15\n"
                  "upstream_keepalive_timeout_ms = 16\n"
                  "[routing]\n"
                  "long_prefixes = [\"/v2/slow\"]\nlong_suffixes = [\":slow\"]\n"
                  "large_body_bytes = 100\nstream_peek_bytes = 200\n");
    const config::GatewaySettings& g = cfg.gateway;
    CHECK(g.host == "0.0.0.0");
    CHECK(g.port == 9000);
    CHECK(g.allowed_origin == "https://a.com");
    CHECK(g.default_timeout_ms == 1000);
    CHECK(g.background_timeout_ms == 300000);
    CHECK(g.max_response_size == 0u);
    CHECK_FALSE(g.enable_retry);
    CHECK_FALSE(g.enable_fallback);
    CHECK(g.log_level == "debug");
    CHECK(g.log_format == "json");
    CHECK(g.stream_idle_timeout_ms == 5);
    CHECK(g.background_slots == 2);
    CHECK(g.background_queue_max == 3);
    CHECK(g.background_queue_timeout_ms == 4);
    CHECK(g.max_request_bytes == 6u);
    CHECK(g.max_retry_after_ms == 7);
    CHECK(g.keepalive_timeout_ms == 8);
    CHECK(g.header_timeout_ms == 9);
    CHECK(g.send_timeout_ms == 13);
    CHECK(g.drain_timeout_ms == 10);
    CHECK(g.threads == 11);
    CHECK(g.max_connections == 12);
    CHECK(g.busy_poll_us == 14);
    CHECK(g.upstream_keepalive == 15);
    CHECK(g.upstream_keepalive_timeout_ms == 16);
    CHECK(cfg.routing.long_prefixes == std::vector<std::string>{"/v2/slow"});
    CHECK(cfg.routing.long_suffixes == std::vector<std::string>{":slow"});
    CHECK(cfg.routing.large_body_bytes == 100u);
    CHECK(cfg.routing.stream_peek_bytes == 200u);
}

TEST_CASE("config: an empty user file changes nothing") {
    FakeSystem sys;
    const config::Config cfg = load_with(sys, "# nothing\n");
    CHECK(cfg.services.size() == 23);
    CHECK(cfg.find("openai")->origin == "built-in");
    CHECK(cfg.user_file == "/u.toml");
}

TEST_CASE("config: user file lookup order") {
    FakeSystem sys;
    sys.files["/flag.toml"] = "[gateway]\nport = 1\n";
    sys.files["/env.toml"] = "[gateway]\nport = 2\n";
    sys.files["/xdg/llmgw/config.toml"] = "[gateway]\nport = 3\n";
    sys.files["/home/me/.config/llmgw/config.toml"] = "[gateway]\nport = 4\n";
    sys.env["HOME"] = "/home/me";
    sys.env["XDG_CONFIG_HOME"] = "/xdg";
    sys.env["LLMGW_CONFIG"] = "/env.toml";

    SUBCASE("--config first") {
        auto cfg = sys.load({}, "/flag.toml");
        REQUIRE(cfg);
        CHECK(cfg->gateway.port == 1);
        CHECK(cfg->user_file == "/flag.toml");
    }
    SUBCASE("then $LLMGW_CONFIG") {
        auto cfg = sys.load();
        REQUIRE(cfg);
        CHECK(cfg->gateway.port == 2);
        CHECK(cfg->user_file == "/env.toml");
    }
    SUBCASE("then $XDG_CONFIG_HOME/llmgw/config.toml") {
        sys.env.erase("LLMGW_CONFIG");
        auto cfg = sys.load();
        REQUIRE(cfg);
        CHECK(cfg->gateway.port == 3);
        CHECK(cfg->user_file == "/xdg/llmgw/config.toml");
    }
    SUBCASE("an empty LLMGW_CONFIG counts as unset") {
        sys.env["LLMGW_CONFIG"] = "";
        auto cfg = sys.load();
        REQUIRE(cfg);
        CHECK(cfg->gateway.port == 3);
    }
    SUBCASE("a set XDG_CONFIG_HOME without the file means no user file") {
        sys.env.erase("LLMGW_CONFIG");
        sys.files.erase("/xdg/llmgw/config.toml");
        auto cfg = sys.load();
        REQUIRE(cfg);
        CHECK(cfg->gateway.port == 8787);
        CHECK(cfg->user_file.empty());
    }
    SUBCASE("a relative XDG_CONFIG_HOME is ignored (XDG Base Directory Specification)") {
        sys.env.erase("LLMGW_CONFIG");
        sys.env["XDG_CONFIG_HOME"] = "xdg";
        sys.files["xdg/llmgw/config.toml"] = "[gateway]\nport = 5\n";
        auto cfg = sys.load();
        REQUIRE(cfg);
        CHECK(cfg->gateway.port == 4);  // before: 5, read from the working directory
    }
    SUBCASE("then ~/.config/llmgw/config.toml") {
        sys.env.erase("LLMGW_CONFIG");
        sys.env.erase("XDG_CONFIG_HOME");
        auto cfg = sys.load();
        REQUIRE(cfg);
        CHECK(cfg->gateway.port == 4);
        CHECK(cfg->user_file == "/home/me/.config/llmgw/config.toml");
    }
    SUBCASE("no file anywhere is fine") {
        sys.env.clear();
        auto cfg = sys.load();
        REQUIRE(cfg);
        CHECK(cfg->user_file.empty());
    }
}

TEST_CASE("config: a missing --config or LLMGW_CONFIG file is an error") {
    FakeSystem sys;
    auto flagged = sys.load({}, "/missing.toml");
    REQUIRE_FALSE(flagged);
    CHECK(flagged.error().message == "/missing.toml: cannot read file: No such file or directory");

    sys.env["LLMGW_CONFIG"] = "/gone.toml";
    CHECK(sys.error() ==
          "/gone.toml: cannot read file: No such file or directory (named by LLMGW_CONFIG)");
}

TEST_CASE("config: the real file reader is used when none is given") {
    config::LoadOptions options;
    options.env = [](std::string_view) { return std::optional<std::string>(); };
    options.config_flag = "/nonexistent/llmgw-test/config.toml";
    auto result = config::load_config(options);
    REQUIRE_FALSE(result);
    CHECK(result.error().message ==
          "/nonexistent/llmgw-test/config.toml: cannot read file: No such file or directory");
    options.config_flag = "/";
    CHECK(config::load_config(options).error().message == "/: cannot read file: Is a directory");
    options.config_flag = "/dev/zero";  // read into memory without end, before
    CHECK(config::load_config(options).error().message ==
          "/dev/zero: cannot read file: File too large");
}

TEST_CASE("config: the default file is optional only when it does not exist") {
    // Before: a default file that existed and could not be read (a directory here; no
    // permission, an I/O error) was skipped without a word, and its overrides with it.
    const std::string home = std::filesystem::temp_directory_path() / "llmgw-default-file-test";
    std::filesystem::remove_all(home);
    std::filesystem::create_directories(home + "/llmgw");
    config::LoadOptions options;
    options.env = [&home](std::string_view name) {
        return name == "XDG_CONFIG_HOME" ? std::optional<std::string>(home) : std::nullopt;
    };
    auto missing = config::load_config(options);
    REQUIRE(missing);
    CHECK(missing->user_file.empty());
    std::filesystem::create_directories(home + "/llmgw/config.toml");
    auto directory = config::load_config(options);
    REQUIRE_FALSE(directory);
    CHECK(directory.error().message ==
          home + "/llmgw/config.toml: cannot read file: Is a directory");
    // A named pipe is read as `cat` reads it: its writer, late, is waited for.
    const std::string fifo_path = home + "/llmgw/config.toml";
    std::filesystem::remove(fifo_path);
    REQUIRE(::mkfifo(fifo_path.c_str(), 0600) == 0);
    std::thread writer([&fifo_path] {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        const int fd = ::open(fifo_path.c_str(), O_WRONLY);
        const std::string text = "[services.late]\nbase_url = \"http://127.0.0.1:9\"\n";
        if (fd >= 0) {
            (void)!::write(fd, text.data(), text.size());
            ::close(fd);
        }
    });
    auto fifo = config::load_config(options);
    writer.join();
    REQUIRE(fifo);
    CHECK(fifo->find("late") != nullptr);
    std::filesystem::remove_all(home);
}

TEST_CASE("config: --config may name a pipe, as <(…) does") {
    int fds[2];
    REQUIRE(::pipe(fds) == 0);
    const std::string text = "[services.piped]\nbase_url = \"http://127.0.0.1:9\"\n";
    REQUIRE(::write(fds[1], text.data(), text.size()) == static_cast<ssize_t>(text.size()));
    ::close(fds[1]);
    config::LoadOptions options;
    options.env = [](std::string_view) { return std::optional<std::string>(); };
    options.config_flag = "/dev/fd/" + std::to_string(fds[0]);
    auto cfg = config::load_config(options);
    ::close(fds[0]);
    REQUIRE(cfg);
    CHECK(cfg->find("piped") != nullptr);
}
