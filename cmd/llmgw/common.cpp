#include "common.hpp"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <iterator>
#include <memory>
#include <sstream>

#include "util/strings.hpp"

namespace llmgw::cli {

namespace {

constexpr std::string_view kBold = "\033[1m";
constexpr std::string_view kReset = "\033[0m";

const char* const kRootFooter = R"(Examples:
  llmgw serve
  llmgw call openai /v1/models
  llmgw services
  llmgw services --json --config ./my-services.toml
  llmgw route /gateway/openai/v1/models
  llmgw route POST /gateway/claude/v1/messages -d '{"stream": true}'
  llmgw route http://127.0.0.1:8787/gateway/openai/v1/embeddings -d @request.json

Run 'llmgw SUBCOMMAND --help' for the flags of a subcommand.)";

// CLI11 spells a two-value positional "args(1x)"; a positional with an option_text
// ("[METHOD] PATH") shows that text instead, in the usage line and in the list.
class Formatter : public CLI::Formatter {
  public:
    std::string make_option(const CLI::Option* opt, bool is_positional) const override {
        if (!is_positional || opt->get_option_text().empty()) {
            return CLI::Formatter::make_option(opt, is_positional);
        }
        std::ostringstream out;
        CLI::detail::format_help(out, opt->get_option_text(), make_option_desc(opt),
                                 get_column_width());
        return out.str();
    }
    std::string make_option_usage(const CLI::Option* opt) const override {
        if (opt->get_option_text().empty()) return CLI::Formatter::make_option_usage(opt);
        return opt->get_option_text();
    }
};

}  // namespace

void setup_app(CLI::App& app) {
    app.name("llmgw");
    app.description(
        "llmgw " LLMGW_VERSION
        ": a local gateway and command-line proxy for LLM APIs.\n"
        "A request to /gateway/{service}/{path} goes to the service's base URL, on the\n"
        "edge lane (quick and streaming requests) or the background lane (long-running\n"
        "APIs and large bodies).");
    app.set_version_flag("--version", "llmgw " LLMGW_VERSION, "Print the version and exit");
    app.footer(kRootFooter);
    // An option given twice takes its last value, as curl and git do (`$DEFAULTS --timeout 5`).
    // Before any add_subcommand(): subcommands take these defaults and the formatter.
    app.option_defaults()->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
    app.formatter(std::make_shared<Formatter>());
    app.get_formatter()->column_width(34);
}

namespace {

// Edits (insert, delete, replace) from `a` to `b`, for "did you mean".
std::size_t edit_distance(std::string_view a, std::string_view b) {
    std::vector<std::size_t> row(b.size() + 1);
    for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
    for (std::size_t i = 1; i <= a.size(); ++i) {
        std::size_t diagonal = row[0];
        row[0] = i;
        for (std::size_t j = 1; j <= b.size(); ++j) {
            const std::size_t above = row[j];
            row[j] =
                std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
            diagonal = above;
        }
    }
    return row[b.size()];
}

bool is_common_method(std::string_view word) {
    for (std::string_view m : {"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"}) {
        if (str::iequals(word, m)) return true;
    }
    return false;
}

// What `llmgw call` does in place of a curl option it does not take.
std::string_view curl_option_hint(std::string_view name) {
    if (name == "-f" || name == "--fail" || name == "--fail-with-body") {
        return "call exits 1 on an HTTP error (400 or above) already, with its body printed";
    }
    if (name == "-L" || name == "--location") {
        return "call follows no redirect: a 3xx answer is printed as it is";
    }
    if (name == "-o" || name == "--output") {
        return "the answer goes to standard output: redirect it (> FILE)";
    }
    if (name == "-v" || name == "--verbose") {
        return "-i prints the status line and the headers";
    }
    return {};
}

// What CLI11 says in its own words, said about this command line; empty: CLI11's words.
std::string clearer_message(CLI::App& app, const CLI::ParseError& error) {
    const std::vector<CLI::App*> chosen = app.get_subcommands();
    CLI::App* sub = chosen.empty() ? &app : chosen.back();
    // `-d a -d b`: "--data: At Most 1 required but received 2".
    if (dynamic_cast<const CLI::ArgumentMismatch*>(&error) != nullptr) {
        for (const char* name : {"--data", "--data-raw"}) {
            if (const CLI::Option* data = sub->get_option_no_throw(name);
                data != nullptr && data->count() > 1) {
                const bool raw = name != std::string_view("--data");
                return std::string(raw ? name : "-d/--data") +
                       " may be given once (curl would join several with '&', which no JSON "
                       "body wants): put the whole body in one " +
                       (raw ? "--data-raw" : "-d") + ", or in a file for -d @FILE";
            }
        }
    }
    if (dynamic_cast<const CLI::ExcludesError*>(&error) != nullptr) {
        return "give the body once: -d/--data/--data-binary or --data-raw, not both";
    }
    const auto* extras = dynamic_cast<const CLI::ExtrasError*>(&error);
    if (extras == nullptr) return {};
    const std::vector<std::string> rest = sub->remaining();
    // curl's options that call has no use for, and what it does instead.
    if (sub->get_name() == "call") {
        for (const std::string& arg : rest) {
            // --name=value, or a cluster of short ones (-fsSL: each letter).
            std::vector<std::string> names{arg.substr(0, arg.find('='))};
            if (arg.size() > 2 && arg[0] == '-' && arg[1] != '-') {
                names.clear();
                for (const char c : arg.substr(1)) names.push_back(std::string{'-', c});
            }
            for (const std::string& name : names) {
                if (const std::string_view hint = curl_option_hint(name); !hint.empty()) {
                    return "'" + name + "' is curl's; " + std::string(hint);
                }
            }
        }
    }
    // `serve --prot 9000`: "The following arguments were not expected: 9000 --prot".
    for (const std::string& arg : rest) {
        if (!arg.starts_with("--") || arg.size() < 3) continue;
        const std::string name = arg.substr(0, arg.find('='));
        std::string best;
        std::size_t best_distance = 3;  // at most two edits away
        for (const CLI::Option* option : sub->get_options()) {
            for (const std::string& long_name : option->get_lnames()) {
                const std::size_t d = edit_distance(name, "--" + long_name);
                if (d < best_distance) {
                    best_distance = d;
                    best = "--" + long_name;
                }
            }
        }
        return "unknown option '" + name + "'" +
               (best.empty() ? "" : "; did you mean '" + best + "'?");
    }
    // `call POST openai /v1/x`: CLI11 took POST for the service.
    if (sub->get_name() == "call" && !rest.empty()) {
        const CLI::Option* service = sub->get_option_no_throw("SERVICE");
        if (service != nullptr && !service->results().empty() &&
            is_common_method(service->results().front())) {
            return "the method goes in -X: llmgw call -X " +
                   str::to_upper(service->results().front()) + " SERVICE PATH";
        }
    }
    return {};
}

}  // namespace

int report_parse_error(CLI::App& app, const CLI::ParseError& error) {
    if (error.get_exit_code() == 0) {
        // --help or --version: CLI11 prints the selected subcommand's help to stdout.
        return app.exit(error);
    }
    // `llmgw serv`: CLI11 says "The following argument was not expected: serv".
    if (const auto* extras = dynamic_cast<const CLI::ExtrasError*>(&error);
        extras != nullptr && app.get_subcommands().empty()) {
        const auto remaining = app.remaining();
        if (!remaining.empty() && !remaining.front().starts_with('-')) {
            std::string names;
            for (const CLI::App* sub : app.get_subcommands({})) {
                names += (names.empty() ? "" : ", ") + sub->get_name();
            }
            print_error(std::cerr,
                        "unknown command '" + remaining.front() + "'; the commands are " + names);
            std::cerr << "Run 'llmgw --help' for usage.\n";
            return exit_usage;
        }
    }
    if (const std::string better = clearer_message(app, error); !better.empty()) {
        print_error(std::cerr, better);
    } else {
        print_error(std::cerr, error.what());
    }
    std::string help_for = "llmgw";
    for (const CLI::App* sub : app.get_subcommands()) help_for += " " + sub->get_name();
    std::cerr << "Run '" << help_for << " --help' for usage.\n";
    return exit_usage;
}

void print_error(std::ostream& err, std::string_view message) {
    err << "llmgw: " << message << '\n';
}

bool stdout_is_styled_terminal() {
    const char* no_color = std::getenv("NO_COLOR");
    if (no_color != nullptr && *no_color != '\0') return false;
    const char* term = std::getenv("TERM");
    if (term != nullptr && std::string_view(term) == "dumb") return false;
    return ::isatty(STDOUT_FILENO) == 1;
}

CLI::Validator decimal_digits() {
    return CLI::Validator(
        [](std::string& value) -> std::string {
            if (value.empty() || value.find_first_not_of("0123456789") != std::string::npos) {
                return "'" + value + "' is not a whole number in decimal digits";
            }
            value.erase(0, std::min(value.find_first_not_of('0'), value.size() - 1));
            return {};
        },
        "", "DECIMAL");
}

CLI::Validator decimal_up_to(std::uint64_t max) {
    return CLI::Validator(
        [max](std::string& value) -> std::string {
            const std::string given = value;
            if (std::string error = decimal_digits()(value); !error.empty()) return error;
            const auto n = str::parse_u64(value);
            if (!n || *n > max) {
                return "'" + given + "' is out of range (0 to " + std::to_string(max) + ")";
            }
            return {};
        },
        "", "DECIMAL");
}

void add_config_option(CLI::App& sub, ConfigOptions& opts) {
    sub.add_option("--config", opts.config_file,
                   "Override file (default: $LLMGW_CONFIG, else llmgw/config.toml in "
                   "$XDG_CONFIG_HOME or ~/.config)")
        ->type_name("FILE");  // an empty name is refused before parsing: main.cpp
}

std::optional<config::Config> load_config_or_report(const ConfigOptions& opts, std::ostream& err) {
    config::LoadOptions load;
    if (!opts.config_file.empty()) load.config_flag = opts.config_file;
    load.env = opts.env ? opts.env : config::process_env();
    auto loaded = config::load_config(load);
    if (!loaded) {
        print_error(err, loaded.error().message);
        return std::nullopt;
    }
    return std::move(loaded).value();
}

void add_header_option(CLI::App& sub, std::vector<std::string>& headers) {
    const CLI::Validator header_syntax(
        [](std::string& arg) -> std::string {
            auto field = parse_header_arg(arg);
            return field ? std::string() : field.error();
        },
        "", "header");
    sub.add_option("-H,--header", headers,
                   "Request header, repeatable ('Name:' drops a default one)")
        ->type_name("'NAME: VALUE'")
        ->allow_extra_args(false)
        ->check(header_syntax);
}

Result<HeaderArg> parse_header_arg(std::string_view arg) {
    const std::size_t colon = arg.find(':');
    HeaderArg header;
    if (colon == std::string_view::npos) {
        const std::string_view trimmed = str::trim(arg);
        if (!trimmed.ends_with(';')) {
            // Only its first word: the rest may be a key ('Authorization Bearer sk-…').
            const std::string_view first = trimmed.substr(0, trimmed.find_first_of(" \t"));
            return unexpected("header '" + std::string(first) +
                              (first.size() < trimmed.size() ? " …" : "") +
                              "' has no colon; write 'Name: value' (or 'Name;' for an empty one)");
        }
        header.name = str::trim(trimmed.substr(0, trimmed.size() - 1));
    } else {
        header.name = str::trim(arg.substr(0, colon));
        header.value = str::trim(arg.substr(colon + 1));
        header.remove = header.value.empty();
    }
    if (header.name.empty()) {
        return unexpected("header '" + std::string(arg) + "' has no name; write 'Name: value'");
    }
    for (char c : header.name) {
        // RFC 9110 token characters only: a space or control byte would corrupt the request.
        if (c <= ' ' || c >= 127 || std::strchr("\"(),/:;<=>?@[\\]{}", c) != nullptr) {
            return unexpected("header name '" + std::string(header.name) +
                              "' is not a valid token");
        }
    }
    for (const char c : header.value) {
        const auto byte = static_cast<unsigned char>(c);
        if ((byte < 0x20 && byte != '\t') || byte == 0x7F) {
            return unexpected("the value of header '" + std::string(header.name) +
                              "' holds a control character (a CR or LF would start a header of "
                              "its own)");
        }
    }
    return header;
}

void add_data_options(CLI::App& sub, BodyArg& body) {
    // One of the two, once (not CLI11's excludes(), which --help would print in every line).
    const auto take = [&body](const std::string& spec, bool literal) {
        if (body.given) throw CLI::ExcludesError(literal ? "--data-raw" : "--data", "the other");
        body = {spec, true, literal};
    };
    sub.add_option_function<std::string>(
           "-d,--data,--data-binary", [take](const std::string& spec) { take(spec, false); },
           "Request body: DATA, @FILE (its bytes as they are) or @- (stdin)")
        ->type_name("DATA|@FILE|@-")
        // curl joins several -d with '&', which no JSON body wants: one body, or an error.
        ->multi_option_policy(CLI::MultiOptionPolicy::Throw);
    sub.add_option_function<std::string>(
           "--data-raw", [take](const std::string& spec) { take(spec, true); },
           "Request body: DATA as it is, an @ at its start too (as curl's)")
        ->type_name("DATA")
        ->multi_option_policy(CLI::MultiOptionPolicy::Throw);
}

std::string body_over_limit(std::string_view arg, std::uint64_t max_bytes) {
    return "the body of -d " + std::string(arg.size() > 64 ? "DATA" : arg) +
           " is over max_request_bytes (" + std::to_string(max_bytes) +
           " bytes; the [gateway] table of the user file sets it)";
}

namespace {

// All of `in`, binary-safe, or its first `max_bytes` + 1 bytes when it has more (for the -d
// argument `arg`, @FILE or @-); an error says why (errno) when a read fails.
Result<std::string> read_all(std::FILE* in, std::string_view arg, std::uint64_t max_bytes) {
    std::string body;
    char buffer[65536];
    while (body.size() <= max_bytes) {
        const std::uint64_t room = max_bytes - body.size();  // one byte past it tells "over"
        const std::size_t n =
            std::fread(buffer, 1, room < sizeof buffer ? room + 1 : sizeof buffer, in);
        if (n == 0) break;
        body.append(buffer, n);
    }
    if (std::ferror(in)) {
        const std::string what = arg == "@-" ? "standard input" : std::string(arg.substr(1));
        return unexpected("cannot read " + what + ": " + std::strerror(errno));
    }
    return body;
}

}  // namespace

Result<std::string> read_body_arg(std::string_view spec, std::FILE* in, std::uint64_t max_bytes) {
    if (spec.empty() || spec.front() != '@') return std::string(spec);
    const std::string path(spec.substr(1));
    // stdio rather than iostreams: errno then says why (a closed stdin, a directory).
    if (path == "-") return read_all(in, spec, max_bytes);
    if (path.empty()) return unexpected(std::string("-d @ needs a file name (or @- for stdin)"));
    std::unique_ptr<std::FILE, int (*)(std::FILE*)> file(std::fopen(path.c_str(), "rb"),
                                                         &std::fclose);
    if (!file) return unexpected("cannot read " + path + ": " + std::strerror(errno));
    return read_all(file.get(), spec, max_bytes);
}

Result<RequestArgs> read_request_args(const std::vector<std::string>& header_args,
                                      const BodyArg& body, std::FILE* in, std::uint64_t max_body) {
    RequestArgs args;
    const auto removed = [&args](std::string_view name) {
        return std::any_of(args.removed.begin(), args.removed.end(),
                           [name](const std::string& r) { return str::iequals(r, name); });
    };
    for (const auto& arg : header_args) {
        auto header = parse_header_arg(arg);
        if (!header) return unexpected(header.error());
        if (!header->remove) {
            args.headers.add(header->name, header->value);
        } else if (!removed(header->name)) {
            args.removed.emplace_back(header->name);
        }
    }
    // As curl 7.88 does: 'Name:' stops only a header of llmgw's own; one another -H gives,
    // before or after it, is sent all the same.
    std::erase_if(args.removed,
                  [&args](const std::string& name) { return args.headers.contains(name); });
    if (body.given) {
        auto bytes =
            body.literal ? Result<std::string>(body.spec) : read_body_arg(body.spec, in, max_body);
        if (!bytes) return unexpected(bytes.error());
        args.body = std::move(*bytes);
        args.has_body = true;
        if (!args.headers.contains("Content-Type") && !removed("Content-Type")) {
            args.headers.add("Content-Type", "application/json");
        }
    }
    return args;
}

void print_table(std::ostream& out, const std::vector<std::string>& header,
                 const std::vector<std::vector<std::string>>& rows, bool styled) {
    std::vector<std::size_t> widths(header.size(), 0);
    const auto measure = [&widths](const std::vector<std::string>& row) {
        for (std::size_t i = 0; i < row.size() && i < widths.size(); ++i) {
            widths[i] = std::max(widths[i], row[i].size());
        }
    };
    measure(header);
    for (const auto& row : rows) measure(row);

    const auto print_row = [&](const std::vector<std::string>& row) {
        for (std::size_t i = 0; i < row.size(); ++i) {
            out << row[i];
            if (i + 1 < row.size()) out << std::string(widths[i] - row[i].size() + 2, ' ');
        }
    };
    if (styled) out << kBold;
    print_row(header);
    if (styled) out << kReset;
    out << '\n';
    for (const auto& row : rows) {
        print_row(row);
        out << '\n';
    }
}

void print_key_values(std::ostream& out,
                      const std::vector<std::pair<std::string, std::string>>& lines) {
    std::size_t width = 0;
    for (const auto& [key, value] : lines) width = std::max(width, key.size());
    for (const auto& [key, value] : lines) {
        out << key << ':' << std::string(width - key.size() + 2, ' ') << value << '\n';
    }
}

}  // namespace llmgw::cli
