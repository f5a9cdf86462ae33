// `llmgw route`: explains how the gateway would route a request, running the same routing
// code as `serve`: lane, rule, reason, service, upstream URL, timeouts, retries, fallback.
#pragma once

#include <cstdio>
#include <iosfwd>
#include <string>
#include <string_view>
#include <vector>

#include "common.hpp"

namespace llmgw::cli {

struct RouteOptions {
    ConfigOptions config;
    std::vector<std::string> args;     // [METHOD] PATH
    std::optional<std::string> method; // -X METHOD, as `call` and curl take it
    std::vector<std::string> headers;  // -H 'Name: value', already checked for a colon
    BodyArg body;                      // -d
    bool json = false;
};

void add_route_command(CLI::App& app, Command& selected);

// `in` is read only for -d @-.
int run_route(const RouteOptions& opts, std::FILE* in, std::ostream& out, std::ostream& err);

// The origin-form request target: "/gateway/…?q" unchanged, or the path and query of a full
// http(s)://host[:port]/gateway/… URL, byte for byte. A fragment is dropped, as curl does.
Result<std::string> request_target_from(std::string_view path_or_url);

}  // namespace llmgw::cli
