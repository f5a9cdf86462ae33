// `llmgw serve`: run the gateway on 127.0.0.1:8787 until SIGINT/SIGTERM.
#pragma once

#include <iosfwd>

#include "common.hpp"

namespace llmgw::cli {

struct ServeOptions {
    ConfigOptions config;
    config::FlagOverrides flags;
};

void add_serve_command(CLI::App& app, Command& selected);

int run_serve(const ServeOptions& opts, std::ostream& err);

}  // namespace llmgw::cli
