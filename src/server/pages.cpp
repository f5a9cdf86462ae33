#include "server/pages.hpp"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <string>

#include "util/ids.hpp"

namespace llmgw::server {
namespace {

std::string html_escape(std::string_view s) {
    std::string out;
    for (char c : s) {
        switch (c) {
            case '<': out += "&lt;"; break;
            case '>': out += "&gt;"; break;
            case '&': out += "&amp;"; break;
            case '"': out += "&quot;"; break;
            default: out += c;
        }
    }
    return out;
}

}  // namespace

Reply health_page(std::chrono::steady_clock::time_point started) {
    const auto uptime = std::chrono::duration_cast<std::chrono::seconds>(
        std::chrono::steady_clock::now() - started);
    nlohmann::ordered_json j;
    j["status"] = "ok";
    j["timestamp"] = iso8601_utc(std::chrono::system_clock::now());
    j["service"] = "llmgw";
    j["version"] = LLMGW_VERSION;
    j["uptime_s"] = uptime.count();
    Reply r;
    r.headers.add("Content-Type", "application/json");
    r.headers.add("Cache-Control", "no-store");
    r.body = j.dump();
    return r;
}

namespace {

std::string example_base(std::string_view host_header, std::string_view listening) {
    const auto plain = [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               c == '.' || c == '-' || c == ':' || c == '[' || c == ']';
    };
    if (!host_header.empty() && host_header.size() <= 255 &&
        std::all_of(host_header.begin(), host_header.end(), plain)) {
        return "http://" + std::string(host_header);
    }
    return "http://" + std::string(listening);
}

}  // namespace

Reply welcome_page(std::string_view host_header, std::string_view listening,
                   const config::Config& config) {
    const std::string base = html_escape(example_base(host_header, listening));
    std::string html =
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>llmgw</title>"
        "</head>\n<body>\n<h1>llmgw " LLMGW_VERSION "</h1>\n"
        "<p>A local gateway for LLM APIs. Point an SDK's base URL at "
        "<code>/gateway/&lt;service&gt;</code>.</p>\n<h2>Services</h2>\n<table>\n"
        "<tr><th>name</th><th>aliases</th><th>upstream</th></tr>\n";
    for (const config::Service& s : config.services) {
        std::string aliases;
        for (const std::string& a : s.aliases) aliases += (aliases.empty() ? "" : ", ") + a;
        html += "<tr><td>" + html_escape(s.name) + "</td><td>" + html_escape(aliases) +
                "</td><td>" + html_escape(s.base_url.text) + "</td></tr>\n";
    }
    html +=
        "</table>\n<h2>Examples</h2>\n<pre>\n"
        "curl " +
        base +
        "/health\n"
        "curl " +
        base +
        "/gateway/openai/v1/chat/completions \\\n"
        "  -H \"Authorization: Bearer $OPENAI_API_KEY\" -H 'Content-Type: application/json' \\\n"
        "  -d '{\"model\":\"gpt-4o-mini\",\"stream\":true,"
        "\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}'\n"
        "</pre>\n</body></html>\n";
    Reply r;
    r.headers.add("Content-Type", "text/html; charset=utf-8");
    r.body = std::move(html);
    return r;
}

}  // namespace llmgw::server
