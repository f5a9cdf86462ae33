// llmgw: builds the command line, runs the selected subcommand, and maps every error to an
// exit status in one place. Adding a subcommand: include its header, call its add_*_command.
#include <exception>
#include <iostream>
#include <string_view>

#include "call_command.hpp"
#include "common.hpp"
#include "route_command.hpp"
#include "serve_command.hpp"
#include "services_command.hpp"

int main(int argc, char** argv) {
    namespace cli = llmgw::cli;
    CLI::App app;
    cli::setup_app(app);
    cli::Command command;
    cli::add_serve_command(app, command);
    cli::add_services_command(app, command);
    cli::add_route_command(app, command);
    cli::add_call_command(app, command);
    // An empty file name is not "no --config": CLI11 would read --config "$UNSET" as no flag at
    // all, and take "--config=" as no value and the next argument as the file.
    for (int i = 1; i < argc && std::string_view(argv[i]) != "--"; ++i) {
        const std::string_view arg = argv[i];
        if (arg == "--config=" || (arg == "--config" && i + 1 < argc && *argv[i + 1] == '\0')) {
            cli::print_error(std::cerr, "--config: needs a file name, not an empty string");
            return cli::exit_usage;
        }
    }
    try {
        app.parse(argc, argv);
        if (!command) {
            std::cerr << app.help();
            return cli::exit_usage;
        }
        return command();
    } catch (const CLI::ParseError& e) {
        return cli::report_parse_error(app, e);
    } catch (const std::exception& e) {
        cli::print_error(std::cerr, e.what());
        return cli::exit_failure;
    }
}
