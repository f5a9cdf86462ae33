// `llmgw call`: one request through the gateway's pipeline (routing decision, header policy,
// retries, timeouts and size limit, all shared with `serve`), answered on stdout as it
// arrives, with the API key taken from the environment.
#pragma once

#include <cstdint>
#include <cstdio>
#include <iosfwd>
#include <optional>
#include <string>
#include <vector>

#include "call_sink.hpp"
#include "common.hpp"

namespace llmgw::cli {

struct CallOptions {
    ConfigOptions config;
    std::string service;                     // SERVICE (a name or an alias)
    std::string path;                        // PATH: "/v1/chat/completions[?query]"
    std::optional<std::string> method;       // -X; none: GET, or POST with -d
    std::vector<std::string> headers;        // -H 'Name: value', already checked for a colon
    BodyArg body;                            // -d
    std::optional<std::string> via;          // --via http://127.0.0.1:8787; none: direct
    bool include = false;                    // -i
    bool text = false;                       // --text
    bool quiet = false;                      // --quiet
    std::optional<std::int64_t> timeout_ms;  // --timeout
    std::optional<int> retries;              // --retries
    std::optional<std::int64_t> max_time_ms;  // -m, --max-time (0: no cap)
};

void add_call_command(CLI::App& app, Command& selected);

// `in` is read only for -d @-; the body goes to `out`, diagnostics to `err`. Returns the exit
// status documented in the command's help.
int run_call(const CallOptions& opts, std::FILE* in, Output& out, std::ostream& err);

}  // namespace llmgw::cli
