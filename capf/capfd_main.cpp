// capfd: the CAPF service. This build knows the wire codec only; the phone
// listener, the admin socket and configuration arrive with later issues, so
// it says so instead of pretending to serve.
#include <CLI/CLI.hpp>
#include <iostream>

#include "capf/version.hpp"

int main(int argc, char** argv) {
    CLI::App app{"capfd: Certificate Authority Proxy Function service for Cisco IP phones"};
    app.set_version_flag("--version", std::string(capf::version()));
    std::string config_path;
    app.add_option("--config", config_path, "JSON configuration file");
    bool check_config = false;
    app.add_flag("--check-config", check_config, "Validate the configuration and exit");
    CLI11_PARSE(app, argc, argv);

    std::cerr << "capfd " << capf::version()
              << ": not yet able to serve phones (this build has the CAPF wire codec only; "
                 "the TLS listener on TCP 3804 is not implemented yet)\n";
    return check_config ? 1 : 0;
}
