// capfctl: the administrator's client of the capfd admin socket. One
// subcommand per admin method, named as an operator would say it; tables by
// default, --json for scripts, --csv for reports and auth strings. The
// commands live in capf/ctl/.
#include <iostream>

#include "capf/ctl/cli.hpp"

int main(int argc, char** argv) {
    capf::ctl::Cli cli(capf::ctl::default_socket_path());
    CLI11_PARSE(cli.app, argc, argv);
    return capf::ctl::run(cli.global, cli.command, std::cout, std::cerr);
}
