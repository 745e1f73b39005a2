// capfctl's command line as a value: build it, parse it, inspect what was
// asked for (tests do, without a socket), then run it against capfd.
#pragma once

#include <CLI/CLI.hpp>
#include <ostream>
#include <string>
#include <vector>

#include "capf/ctl/command.hpp"

namespace capf::ctl {

/// Options of capfctl itself, accepted before or after the subcommand.
struct GlobalOptions {
    std::string socket_path;
    bool json = false;
    int timeout_seconds = 120;
    bool read_only = false;  ///< every request lowered to the read-only role
};

/// The whole command line: every subcommand built on `app`. Parse once;
/// then `global` and `command` hold what was asked for. Neither copied nor
/// moved: the subcommands' callbacks write into `command`.
struct Cli {
    /// `default_socket` is --socket's value when it is not given.
    explicit Cli(const std::string& default_socket);
    Cli(const Cli&) = delete;
    Cli& operator=(const Cli&) = delete;

    /// Parses the arguments after the program name; throws CLI::ParseError
    /// (CLI::CallForHelp for --help) as CLI::App::parse does.
    void parse(std::vector<std::string> args);

    CLI::App app;
    GlobalOptions global;
    Command command;
};

/// $CAPF_ADMIN_SOCKET, or /run/capfd/admin.sock when it is unset or empty.
std::string default_socket_path();

/// Prints a command's result: as JSON with --json, else the command's way.
void print_result(const GlobalOptions& global, const Command& command, const json& result,
                  std::ostream& out);

/// Connects to capfd, runs the command and prints its result on `out`; a
/// failure (capfd refused, cannot be reached, a local file) is one line on
/// `err`. Returns the exit status: 0, or 1 after a failure.
int run(const GlobalOptions& global, const Command& command, std::ostream& out, std::ostream& err);

}  // namespace capf::ctl
