#include "services_command.hpp"

#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <ostream>

#include "util/redact.hpp"
#include "util/strings.hpp"

namespace llmgw::cli {

namespace {

const char* const kFooter =
    R"(Every enabled service of the merged table: the built-in one, then the override file
(--config FILE, $LLMGW_CONFIG or $XDG_CONFIG_HOME/llmgw/config.toml), then PROXY_CONFIG.
TIMEOUT is the edge timeout until response headers ("default": DEFAULT_TIMEOUT),
RETRIES the extra attempts, SOURCE where the entry came from (built-in, the override file,
PROXY_CONFIG, or "built-in + FILE" when the file changed a built-in service).

Examples:
  llmgw services
  llmgw services --json | jq '.[] | select(.name == "openai")'
  llmgw services --config ./my-services.toml)";

std::string join(const std::vector<std::string>& items, std::string_view sep) {
    std::string out;
    for (const auto& item : items) {
        if (!out.empty()) out += sep;
        out += item;
    }
    return out;
}

std::string yes_no(bool b) { return b ? "yes" : "no"; }

std::vector<std::string> table_row(const config::Service& s) {
    return {s.name,
            s.aliases.empty() ? "-" : join(s.aliases, ","),
            s.base_url.text,
            s.timeout_ms ? std::to_string(*s.timeout_ms) + "ms" : "default",
            std::to_string(s.max_retries),
            yes_no(s.streaming),
            yes_no(s.fallback),
            s.origin};
}

nlohmann::ordered_json json_entry(const config::Service& s) {
    nlohmann::ordered_json headers = nlohmann::ordered_json::object();
    // A user file may put a key in a default header; never print it.
    for (const auto& field : s.headers) {
        headers[field.name] = str::iequals(field.name, s.auth.header)
                                  ? std::string("***")
                                  : redact_header_value(field.name, field.value);
    }
    nlohmann::ordered_json j;
    j["name"] = s.name;
    j["aliases"] = s.aliases;
    j["base_url"] = s.base_url.text;
    j["timeout_ms"] = s.timeout_ms ? nlohmann::ordered_json(*s.timeout_ms) : nullptr;
    j["max_retries"] = s.max_retries;
    j["retry_methods"] = s.retry_methods;
    j["max_response_bytes"] =
        s.max_response_bytes ? nlohmann::ordered_json(*s.max_response_bytes) : nullptr;
    j["streaming"] = s.streaming;
    j["fallback"] = s.fallback;
    j["headers"] = std::move(headers);
    // Where `llmgw call` finds the key, and how it sends it (the key itself is never here).
    j["api_key_env"] = s.auth.env;
    j["api_key_header"] = s.auth.header;
    j["api_key_prefix"] = s.auth.prefix;
    j["description"] = s.description;
    j["source"] = s.origin;
    return j;
}

}  // namespace

void add_services_command(CLI::App& app, Command& selected) {
    auto opts = std::make_shared<ServicesOptions>();
    CLI::App* sub = app.add_subcommand(
        "services", "List the services: the built-in table merged with your override file");
    sub->footer(kFooter);
    add_config_option(*sub, opts->config);
    sub->add_flag("--json", opts->json, "Print a JSON array instead of the table");
    sub->callback([opts, &selected] {
        opts->styled = stdout_is_styled_terminal();
        selected = [opts] { return run_services(*opts, std::cout, std::cerr); };
    });
}

int run_services(const ServicesOptions& opts, std::ostream& out, std::ostream& err) {
    const auto config = load_config_or_report(opts.config, err);
    if (!config) return exit_usage;

    if (opts.json) {
        nlohmann::ordered_json list = nlohmann::ordered_json::array();
        for (const auto& service : config->services) list.push_back(json_entry(service));
        out << list.dump(2, ' ', false, nlohmann::ordered_json::error_handler_t::replace) << '\n';
        return exit_ok;
    }
    std::vector<std::vector<std::string>> rows;
    rows.reserve(config->services.size());
    for (const auto& service : config->services) rows.push_back(table_row(service));
    print_table(
        out,
        {"NAME", "ALIASES", "BASE URL", "TIMEOUT", "RETRIES", "STREAMING", "FALLBACK", "SOURCE"},
        rows, opts.styled);
    return exit_ok;
}

}  // namespace llmgw::cli
