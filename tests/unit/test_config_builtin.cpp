#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "config/base_url.hpp"
#include "config/toml_loader.hpp"
#include "test_config_fakes.hpp"

using namespace llmgw;
using llmgw::test::FakeSystem;

namespace {

const config::Config& builtin() {
    static const config::Config cfg = [] {
        FakeSystem sys;
        auto result = sys.load();
        REQUIRE_MESSAGE(result.has_value(), (result ? "" : result.error().message));
        return *result;
    }();
    return cfg;
}

}  // namespace

TEST_CASE("config: built-in table has the 23 services of SPEC 1 with their hosts") {
    const std::pair<const char*, const char*> expected[] = {
        {"openai", "https://api.openai.com"},
        {"anthropic", "https://api.anthropic.com"},
        {"gemini", "https://generativelanguage.googleapis.com"},
        {"azure", "https://models.inference.ai.azure.com"},
        {"groq", "https://api.groq.com/openai"},
        {"cohere", "https://api.cohere.ai"},
        {"huggingface", "https://api-inference.huggingface.co"},
        {"together", "https://api.together.xyz"},
        {"siliconflow", "https://api.siliconflow.cn"},
        {"github", "https://models.github.ai"},
        {"cerebras", "https://api.cerebras.ai"},
        {"fireworks", "https://api.fireworks.ai/inference"},
        {"openrouter", "https://openrouter.ai/api"},
        {"xai", "https://api.x.ai"},
        {"perplexity", "https://api.perplexity.ai"},
        {"novita", "https://api.novita.ai"},
        {"modelscope", "https://api-inference.modelscope.cn"},
        {"friendli", "https://api.friendli.ai/serverless"},
        {"chutes", "https://llm.chutes.ai"},
        {"poe", "https://api.poe.com"},
        {"portkey", "https://api.portkey.ai"},
        {"deepseek", "https://api.deepseek.com"},
        {"ollama", "http://127.0.0.1:11434"},
    };
    const config::Config& cfg = builtin();
    CHECK(cfg.services.size() == 23);
    for (const auto& [name_binding, url] : expected) {
        const char* name = name_binding;  // CAPTURE cannot capture a binding (clang < 16)
        CAPTURE(name);
        const config::Service* s = cfg.find(name);
        REQUIRE(s != nullptr);
        CHECK(s->base_url.text == url);
        CHECK(s->origin == "built-in");
        CHECK_FALSE(s->description.empty());
    }
}

TEST_CASE("config: built-in entries keep the original's special values") {
    const config::Config& cfg = builtin();
    const config::Service& openai = *cfg.find("openai");
    CHECK(openai.timeout_ms == 120000);
    CHECK(openai.max_response_bytes == 10485760u);
    CHECK(openai.auth.env == "OPENAI_API_KEY");
    CHECK(openai.auth.header == "Authorization");
    CHECK(openai.auth.prefix == "Bearer ");

    const config::Service& anthropic = *cfg.find("anthropic");
    CHECK(anthropic.headers.get("anthropic-version") == "2023-06-01");
    CHECK(anthropic.auth.header == "x-api-key");
    CHECK(anthropic.auth.prefix.empty());
    CHECK(cfg.find("gemini")->auth.header == "x-goog-api-key");

    const config::Service& groq = *cfg.find("groq");
    CHECK(groq.base_url.host == "api.groq.com");
    CHECK(groq.base_url.base_path == "/openai");
    CHECK(groq.base_url.scheme == "https");
    CHECK(groq.base_url.port == 0);

    const config::Service& ollama = *cfg.find("ollama");
    CHECK(ollama.base_url.scheme == "http");
    CHECK(ollama.base_url.port == 11434);
    CHECK(ollama.auth.env.empty());
}

TEST_CASE("config: defaults of a service without the optional fields") {
    const config::Service& s = *builtin().find("deepseek");
    CHECK_FALSE(s.timeout_ms.has_value());
    CHECK_FALSE(s.max_response_bytes.has_value());
    CHECK(s.max_retries == 1);
    CHECK(s.retry_methods == std::vector<std::string>{"GET", "HEAD", "OPTIONS", "POST"});
    CHECK(s.streaming);
    CHECK(s.fallback);
}

TEST_CASE("config: services are sorted and found by name or alias, case-insensitively") {
    const config::Config& cfg = builtin();
    for (std::size_t i = 1; i < cfg.services.size(); ++i) {
        CHECK(cfg.services[i - 1].name < cfg.services[i].name);
    }
    CHECK(cfg.find("claude") == cfg.find("anthropic"));
    CHECK(cfg.find("CLAUDE") == cfg.find("anthropic"));
    CHECK(cfg.find("Pplx")->name == "perplexity");
    CHECK(cfg.find("OpenAI")->name == "openai");
    CHECK(cfg.find("nope") == nullptr);
    CHECK(cfg.find("") == nullptr);
    CHECK(cfg.service_names().starts_with("anthropic, azure, cerebras, "));
    CHECK(cfg.service_names().ends_with(", together, xai"));
}

TEST_CASE("config: built-in gateway and routing defaults without a user file") {
    const config::Config& cfg = builtin();
    CHECK(cfg.gateway.host == "127.0.0.1");
    CHECK(cfg.gateway.port == 8787);
    CHECK(cfg.gateway.default_timeout_ms == 20000);
    CHECK(cfg.gateway.background_timeout_ms == 240000);
    CHECK(cfg.gateway.max_response_size == 6291456u);
    CHECK(cfg.gateway.log_level == "info");
    CHECK(cfg.user_file.empty());
    CHECK(cfg.routing.large_body_bytes == 1u << 20);
}

namespace {

// Every field of a service, so that two tables compare field by field with readable failures.
std::string describe(const config::Service& s) {
    std::string out = s.name + " aliases=";
    for (const auto& a : s.aliases) out += a + ",";
    out += " base_url=" + s.base_url.scheme + "|" + s.base_url.host + "|" +
           std::to_string(s.base_url.port) + "|" + s.base_url.base_path + "|" + s.base_url.text;
    out += " headers=";
    for (const HeaderField f : s.headers)
        out += std::string(f.name) + ":" + std::string(f.value) + ",";
    out += " timeout_ms=" + (s.timeout_ms ? std::to_string(*s.timeout_ms) : "unset");
    out += " max_retries=" + std::to_string(s.max_retries) + " retry_methods=";
    for (const auto& m : s.retry_methods) out += m + ",";
    out += " max_response_bytes=" +
           (s.max_response_bytes ? std::to_string(*s.max_response_bytes) : "unset");
    out += " streaming=" + std::to_string(s.streaming) + " fallback=" + std::to_string(s.fallback) +
           " enabled=" + std::to_string(s.enabled) + " description=" + s.description +
           " auth=" + s.auth.env + "|" + s.auth.header + "|" + s.auth.prefix +
           " origin=" + s.origin + " aliases_at=" + s.aliases_at;
    return out;
}

std::vector<std::string> describe(const std::vector<config::Service>& table) {
    std::vector<std::string> out;
    for (const config::Service& s : table) out.push_back(describe(s));
    return out;
}

}  // namespace

TEST_CASE("config: the generated built-in table is the parse of services.toml") {
    // The binary starts from builtin_service_table() (empty builtin_toml), made at build time;
    // the tests above read the embedded text. Both must give the same table, field by field.
    const std::vector<std::string> generated = describe(config::builtin_service_table());
    REQUIRE(generated.size() == 23);
    FakeSystem parsed;
    FakeSystem from_table;
    from_table.builtin.clear();
    const auto a = parsed.load();
    const auto b = from_table.load();
    REQUIRE(a);
    REQUIRE(b);
    CHECK(describe(a->services) == describe(b->services));
    CHECK(describe(a->disabled) == describe(b->disabled));
    CHECK(b->services.size() == 23);
    // Before load_config sorts and splits it: the draft apply_toml leaves, in its order, which a
    // user file merges into.
    config::Config draft;
    const auto error = config::apply_toml(draft, config::builtin_services_toml(),
                                          {std::string(config::kBuiltinFile), "built-in"});
    REQUIRE_FALSE(error.has_value());
    CHECK(describe(draft.services) == generated);
    // A user file merges into either the same way.
    for (FakeSystem* sys : {&parsed, &from_table}) {
        sys->files["/u.toml"] =
            "[services.anthropic]\nheaders = { \"anthropic-version\" = \"\", x = \"1\" }\n"
            "[services.ollama]\nenabled = false\n[services.new]\nbase_url = \"http://a\"\n";
    }
    const auto c = parsed.load({}, "/u.toml");
    const auto d = from_table.load({}, "/u.toml");
    REQUIRE(c);
    REQUIRE(d);
    CHECK(describe(c->services) == describe(d->services));
    CHECK(describe(c->disabled) == describe(d->disabled));
    CHECK(d->find("anthropic")->origin == "built-in + /u.toml");
}

TEST_CASE("config: errors in the built-in table name it") {
    FakeSystem sys;
    sys.builtin = "[services.x]\nbase_url = \"ftp://x\"\n";
    CHECK(sys.error() ==
          "services.toml (built-in):2:12: bad base_url 'ftp://x' in [services.x]: scheme must be "
          "http or https");
}
