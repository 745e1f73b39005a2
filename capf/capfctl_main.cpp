// capfctl: the administrator's client of the capfd admin socket. One
// subcommand per admin method, named as an operator would say it; tables by
// default, --json for scripts, --csv for reports and auth strings. The
// commands live in capf/ctl/.
#include <iostream>
#include <system_error>

#include "capf/common/standard_descriptors.hpp"
#include "capf/ctl/cli.hpp"

int main(int argc, char** argv) {
    // Else a closed standard output takes the admin socket's number (seen
    // with strace: socket() = 1), and whatever is printed while connected
    // would go to capfd as a request (standard_descriptors.hpp).
    try {
        capf::open_closed_standard_descriptors();
    } catch (const std::system_error& e) {
        std::cerr << "capfctl: " << e.what() << "\n";
        return 1;
    }
    capf::ctl::Cli cli(capf::ctl::default_socket_path());
    CLI11_PARSE(cli.app, argc, argv);
    return capf::ctl::run(cli.global, cli.command, std::cout, std::cerr);
}
