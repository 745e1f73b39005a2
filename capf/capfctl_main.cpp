// capfctl: the administrator's client of the capfd admin socket.
#include <CLI/CLI.hpp>
#include <iostream>

#include "capf/version.hpp"

int main(int argc, char** argv) {
    CLI::App app{"capfctl: administer capfd through its admin socket"};
    app.set_version_flag("--version", std::string(capf::version()));
    std::string socket_path = "/run/capfd/admin.sock";
    app.add_option("--socket", socket_path, "Path of the capfd admin socket")
        ->capture_default_str();
    app.require_subcommand(0, 1);
    CLI11_PARSE(app, argc, argv);

    std::cerr << "capfctl " << capf::version()
              << ": no commands yet (the admin socket is not implemented in this build)\n";
    std::cout << app.help();
    return 1;
}
