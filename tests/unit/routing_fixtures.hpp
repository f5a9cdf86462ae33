// A small service table built in C++ for the routing tests, so they need no TOML parser.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "config/config.hpp"

namespace llmgw::test {

inline config::BaseUrl make_base_url(std::string scheme, std::string host, std::uint16_t port,
                                     std::string base_path) {
    config::BaseUrl url;
    url.text = scheme + "://" + host + (port != 0 ? ":" + std::to_string(port) : "") + base_path;
    url.scheme = std::move(scheme);
    url.host = std::move(host);
    url.port = port;
    url.base_path = std::move(base_path);
    return url;
}

inline config::Service make_service(std::string name, config::BaseUrl base_url) {
    config::Service service;
    service.name = std::move(name);
    service.base_url = std::move(base_url);
    service.origin = "built-in";
    return service;
}

// anthropic (alias claude), gemini, groq (/openai base path), ollama (http), openai; sorted.
inline config::Config make_routing_config() {
    config::Config config;

    config::Service anthropic =
        make_service("anthropic", make_base_url("https", "api.anthropic.com", 0, ""));
    anthropic.aliases = {"claude"};
    anthropic.headers.add("anthropic-version", "2023-06-01");
    config.services.push_back(std::move(anthropic));

    config.services.push_back(
        make_service("gemini", make_base_url("https", "generativelanguage.googleapis.com", 0, "")));
    config.services.push_back(
        make_service("groq", make_base_url("https", "api.groq.com", 0, "/openai")));

    config::Service ollama = make_service("ollama", make_base_url("http", "127.0.0.1", 11434, ""));
    ollama.fallback = false;
    config.services.push_back(std::move(ollama));

    config::Service openai =
        make_service("openai", make_base_url("https", "api.openai.com", 0, ""));
    openai.timeout_ms = 120000;
    openai.max_response_bytes = 10485760;
    config.services.push_back(std::move(openai));
    return config;
}

}  // namespace llmgw::test
