// llmgw: builds the command line, runs the selected subcommand, and maps every error to an
// exit status in one place. Adding a subcommand: include its header, call its add_*_command.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <exception>
#include <iostream>
#include <string_view>

#include "call_command.hpp"
#include "checked_stdout.hpp"
#include "common.hpp"
#include "route_command.hpp"
#include "serve_command.hpp"
#include "services_command.hpp"

namespace {

// A standard descriptor closed by the caller (`llmgw … >&-`) would be the number the next
// open file or socket gets, and the answer written to stdout would go there, an upstream
// connection perhaps. /dev/null takes the number, opened the wrong way round, so a write
// to stdout (or a read of stdin) still fails as on a closed descriptor (EBADF).
void hold_closed_standard_descriptors() {
    for (const int fd : {STDIN_FILENO, STDOUT_FILENO, STDERR_FILENO}) {
        if (::fcntl(fd, F_GETFD) != -1 || errno != EBADF) continue;
        const int held =
            ::open("/dev/null", (fd == STDIN_FILENO ? O_WRONLY : O_RDONLY) | O_CLOEXEC);
        if (held != fd && held >= 0) ::close(held);  // a lower one was free: cannot happen
    }
}

// Output lost to a full disk or a closed descriptor is a failure, not a success (as coreutils
// see it): checked once everything was written. (`call` writes its body with write(2) and
// checks each write itself.)
int with_stdout_checked(int status, llmgw::cli::CheckedStdout& out) {
    std::cout.flush();
    out.pubsync();
    if (out.error() == 0) return status;
    std::cerr << "llmgw: cannot write to standard output: " << std::strerror(out.error()) << '\n';
    return status == 0 ? llmgw::cli::exit_failure : status;
}

}  // namespace

int main(int argc, char** argv) {
    hold_closed_standard_descriptors();
    llmgw::cli::CheckedStdout out;
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
        return with_stdout_checked(command(), out);
    } catch (const CLI::ParseError& e) {
        return with_stdout_checked(cli::report_parse_error(app, e), out);
    } catch (const std::exception& e) {
        cli::print_error(std::cerr, e.what());
        return cli::exit_failure;
    }
}
