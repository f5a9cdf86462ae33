// `llmgw services`: the merged service table, as aligned columns or JSON.
#pragma once

#include <iosfwd>

#include "common.hpp"

namespace llmgw::cli {

struct ServicesOptions {
    ConfigOptions config;
    bool json = false;
    bool styled = false;  // bold header row (a terminal without NO_COLOR)
};

void add_services_command(CLI::App& app, Command& selected);

int run_services(const ServicesOptions& opts, std::ostream& out, std::ostream& err);

}  // namespace llmgw::cli
