// What every subcommand shares: exit statuses, the one way a command is run, loading the
// configuration, error and table output, and the curl-like -H / -d arguments.
#pragma once

#include <cstdint>
#include <cstdio>
#include <functional>
#include <iosfwd>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

// GCC 12 reports a false -Wnull-dereference inside CLI11 2.1's inline string helpers.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wnull-dereference"
#include <CLI/CLI.hpp>
#pragma GCC diagnostic pop

#include "config/config.hpp"
#include "util/headers.hpp"
#include "util/result.hpp"

namespace llmgw::cli {

// Exit statuses of every subcommand (documented in README.md).
enum ExitStatus : int {
    exit_ok = 0,
    exit_failure = 1,  // the command ran and failed (an upstream error, an internal error)
    exit_usage = 2,    // bad arguments, bad configuration, a path that cannot be routed
};

// The subcommand CLI11 selected, set by its callback and run by main() after parsing,
// so parse errors and run errors stay apart.
using Command = std::function<int()>;

// Root app: description, --version, examples footer.
void setup_app(CLI::App& app);

// Prints a CLI11 parse error (or the help/version it carries) and returns the exit status:
// 0 for --help and --version, exit_usage for everything else.
int report_parse_error(CLI::App& app, const CLI::ParseError& error);

// "llmgw: <message>" on one line.
void print_error(std::ostream& err, std::string_view message);

// True when stdout may carry ANSI styling: a terminal, NO_COLOR unset or empty, TERM not dumb.
bool stdout_is_styled_terminal();

// Options every config-reading subcommand has.
struct ConfigOptions {
    std::string config_file;  // --config FILE; empty: not given
    config::EnvLookup env;    // unset: the process environment
};
void add_config_option(CLI::App& sub, ConfigOptions& opts);

// For options that take a whole number: decimal digits only, leading zeros dropped. Left to
// itself CLI11 reads "010" as octal (8) and "0x1f" as hex, with no error.
CLI::Validator decimal_digits();
// The same, and at most `max`: "'99999' is out of range (0 to 65535)", where CLI11 would say
// "Could not convert".
CLI::Validator decimal_up_to(std::uint64_t max);

// Built-in table + override file + environment, as SPEC §10 orders them. On error the
// message (FILE:LINE:COL: … or the variable's name) is printed to `err` and nullopt returned.
std::optional<config::Config> load_config_or_report(const ConfigOptions& opts, std::ostream& err);

// -H 'Name: value' (repeatable), validated by CLI11 so a malformed one is a usage error.
void add_header_option(CLI::App& sub, std::vector<std::string>& headers);
// -H as curl reads it: "Name: value"; "Name:" with no value removes a header llmgw would
// add itself (the service's key, a default header, User-Agent), never one another -H gives;
// "Name;" sends it with an empty value. Views into `arg`. An error text when there is no
// name, the name is not an HTTP token, or the value holds a control character (CR and LF
// would start a header of their own).
struct HeaderArg {
    std::string_view name;
    std::string_view value;
    bool remove = false;
};
Result<HeaderArg> parse_header_arg(std::string_view arg);

// -d DATA|@FILE|@- as curl spells it.
struct BodyArg {
    std::string spec;      // as given
    bool given = false;    // -d was on the command line (an empty body is still a body)
    bool literal = false;  // --data-raw: the spec is the body, even when it starts with @
};
// -d/--data (and curl's --data-binary, which it is) and --data-raw, one of them once.
void add_data_options(CLI::App& sub, BodyArg& body);
// The body bytes: DATA itself, the whole of FILE (binary-safe), or all of `in` for @-. Of a
// FILE or stdin longer than `max_bytes` only the first `max_bytes` + 1 bytes are read (so
// -d @/dev/zero ends): the caller tells a body over the limit by its size.
Result<std::string> read_body_arg(std::string_view spec, std::FILE* in, std::uint64_t max_bytes);
// What call says of a body over max_request_bytes (`arg`: the -d argument).
std::string body_over_limit(std::string_view arg, std::uint64_t max_bytes);

// The -H and -d arguments of a request, read and checked: the headers in order, the names
// of llmgw's own headers to leave out ('Name:' where no other -H gives Name), the body bytes,
// and Content-Type: application/json added when -d was given without one (nor a
// "Content-Type:" removing it). The body is read as read_body_arg reads it.
struct RequestArgs {
    Headers headers;
    std::vector<std::string> removed;
    std::string body;
    bool has_body = false;
};
Result<RequestArgs> read_request_args(const std::vector<std::string>& header_args,
                                      const BodyArg& body, std::FILE* in, std::uint64_t max_body);

// Columns padded to the widest cell; the header row bold when `styled`. No trailing blanks.
void print_table(std::ostream& out, const std::vector<std::string>& header,
                 const std::vector<std::vector<std::string>>& rows, bool styled);
// "key:   value" lines, values aligned.
void print_key_values(std::ostream& out,
                      const std::vector<std::pair<std::string, std::string>>& lines);

}  // namespace llmgw::cli
