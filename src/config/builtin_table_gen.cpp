// Build-time tool: reads share/services.toml as load_config reads the built-in table and writes
// a C++ source defining builtin_service_table(), the services that reading gives. Every llmgw
// start then copies a finished table instead of reading the TOML (2.0 M instructions, 1.4 M of
// them toml++'s parse, of the 4.9 M that `llmgw call` to a local upstream cost, callgrind).
//   llmgw_builtin_table_gen INPUT.toml OUTPUT.cpp
// The unit test "config: the generated built-in table is the parse of services.toml" holds the
// two equal.
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>

#include "config/toml_loader.hpp"
#include "config/tomlpp.hpp"

namespace {

using llmgw::HeaderField;
using llmgw::Headers;
using llmgw::config::BaseUrl;
using llmgw::config::Config;
using llmgw::config::Service;

// A C++ string literal holding exactly `text`: printable ASCII as it is, every other byte as a
// three-digit octal escape (which, unlike \x, cannot run into the character after it). The
// literals are read as C strings: a NUL would end one early (no field of the table takes one).
std::string literal(std::string_view text) {
    if (text.find('\0') != std::string_view::npos) {
        throw std::runtime_error("a NUL byte in a value of the table");
    }
    std::string out = "\"";
    for (const char c : text) {
        const auto byte = static_cast<unsigned char>(c);
        if (byte == '"' || byte == '\\') {
            out += '\\';
            out += c;
        } else if (byte >= 0x20 && byte < 0x7f && byte != '?') {  // '?': no trigraphs
            out += c;
        } else {
            char escaped[5];
            std::snprintf(escaped, sizeof escaped, "\\%03o", byte);
            out += escaped;
        }
    }
    return out + "\"";
}

std::string strings(const std::vector<std::string>& list) {
    std::string out = "{";
    for (const std::string& s : list) out += (out.size() > 1 ? ", " : "") + literal(s);
    return out + "}";
}

std::string headers(const Headers& list) {
    std::string out = "llmgw::Headers{";
    bool first = true;
    for (const HeaderField f : list) {
        out += (first ? "{" : ", {") + literal(f.name) + ", " + literal(f.value) + "}";
        first = false;
    }
    return out + "}";
}

std::string base_url(const BaseUrl& u) {
    return "BaseUrl{" + literal(u.scheme) + ", " + literal(u.host) + ", " + std::to_string(u.port) +
           ", " + literal(u.base_path) + ", " + literal(u.text) + "}";
}

template <class T>
std::string optional_number(const std::optional<T>& value) {
    return value ? std::to_string(*value) : "std::nullopt";
}

const char* boolean(bool b) { return b ? "true" : "false"; }

void write_service(std::ostream& out, const Service& s) {
    out << "    {\n"
        << "        Service& s = table.emplace_back();\n"
        << "        s.name = " << literal(s.name) << ";\n"
        << "        s.aliases = " << strings(s.aliases) << ";\n"
        << "        s.base_url = " << base_url(s.base_url) << ";\n"
        << "        s.headers = " << headers(s.headers) << ";\n"
        << "        s.timeout_ms = " << optional_number(s.timeout_ms) << ";\n"
        << "        s.max_retries = " << s.max_retries << ";\n"
        << "        s.retry_methods = " << strings(s.retry_methods) << ";\n"
        << "        s.max_response_bytes = " << optional_number(s.max_response_bytes) << ";\n"
        << "        s.streaming = " << boolean(s.streaming) << ";\n"
        << "        s.fallback = " << boolean(s.fallback) << ";\n"
        << "        s.enabled = " << boolean(s.enabled) << ";\n"
        << "        s.description = " << literal(s.description) << ";\n"
        << "        s.auth = ApiKeyAuth{" << literal(s.auth.env) << ", " << literal(s.auth.header)
        << ", " << literal(s.auth.prefix) << "};\n"
        << "        s.origin = " << literal(s.origin) << ";\n"
        << "        s.aliases_at = " << literal(s.aliases_at) << ";\n"
        << "    }\n";
}

int fail(const std::string& message) {
    std::cerr << "llmgw_builtin_table_gen: " << message << "\n";
    return 1;
}

}  // namespace

int main(int argc, char** argv) try {
    if (argc != 3) return fail("usage: llmgw_builtin_table_gen INPUT.toml OUTPUT.cpp");
    std::ifstream in(argv[1], std::ios::binary);
    std::stringstream text;
    text << in.rdbuf();
    if (!in) return fail(std::string(argv[1]) + ": " + std::strerror(errno));

    // Only services: a [gateway] or [routing] table would need its settings generated too.
    try {
        const toml::table root = toml::parse(text.str(), std::string_view(argv[1]));
        if (root.size() != 1 || !root.contains("services")) {
            return fail(std::string(argv[1]) + ": the built-in table holds [services] only");
        }
    } catch (const toml::parse_error& e) {
        return fail(std::string(argv[1]) + ": " + std::string(e.description()));
    }
    Config draft;
    const llmgw::config::TomlSource source{std::string(llmgw::config::kBuiltinFile), "built-in"};
    if (auto error = llmgw::config::apply_toml(draft, text.str(), source)) {
        return fail(error->message);
    }

    std::ostringstream out;
    out << "// Generated by llmgw_builtin_table_gen (src/config/builtin_table_gen.cpp) from "
           "share/services.toml: do not edit.\n"
        << "#include \"config/config.hpp\"\n\n"
        << "namespace llmgw::config {\n\n"
        << "std::vector<Service> builtin_service_table() {\n"
        << "    std::vector<Service> table;\n"
        << "    table.reserve(" << draft.services.size() << ");\n";
    for (const Service& s : draft.services) write_service(out, s);
    out << "    return table;\n}\n\n}  // namespace llmgw::config\n";

    std::ofstream file(argv[2], std::ios::binary | std::ios::trunc);
    file << out.str();
    file.close();
    if (!file) return fail(std::string(argv[2]) + ": " + std::strerror(errno));
    return 0;
} catch (const std::exception& e) {
    return fail(e.what());
}
