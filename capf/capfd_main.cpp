// capfd: the CAPF service. This build validates its configuration; the phone
// listener and the admin socket arrive with later issues, so it says so
// instead of pretending to serve.
#include <CLI/CLI.hpp>
#include <iostream>

#include "capf/config.hpp"
#include "capf/version.hpp"

int main(int argc, char** argv) {
    CLI::App app{"capfd: Certificate Authority Proxy Function service for Cisco IP phones"};
    app.set_version_flag("--version", std::string(capf::version()));
    std::string config_path;
    app.add_option(
        "--config", config_path,
        "JSON configuration file (keys: deploy/CONFIG.md); built-in defaults without it");
    bool check_config = false;
    app.add_flag("--check-config", check_config,
                 "Validate the configuration and exit: 0 when valid");
    CLI11_PARSE(app, argc, argv);

    capf::Config config;
    try {
        if (!config_path.empty()) {
            config = capf::load_config(config_path);
        }
    } catch (const capf::ConfigError& e) {
        std::cerr << "capfd: invalid configuration:\n" << e.what() << "\n";
        return 1;
    }
    if (check_config) {
        std::cout << "capfd: configuration "
                  << (config_path.empty() ? std::string("(built-in defaults)") : config_path)
                  << " is valid\n";
        return 0;
    }

    std::cerr << "capfd " << capf::version()
              << ": not yet able to serve phones (this build has the CAPF wire codec and the "
                 "configuration only; the TLS listener on TCP "
              << config.listen.port << " is not implemented yet)\n";
    return 0;
}
