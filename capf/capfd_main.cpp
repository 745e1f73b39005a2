// capfd: the CAPF service daemon. It loads and validates its configuration,
// serves the admin socket, and shuts down cleanly on SIGTERM/SIGINT. The
// phone listener on TCP 3804 arrives with a later issue; capfd says so at
// start rather than pretending to serve phones.
#include <CLI/CLI.hpp>
#include <asio/io_context.hpp>
#include <asio/signal_set.hpp>
#include <iostream>
#include <optional>

#include "capf/admin_access.hpp"
#include "capf/admin_server.hpp"
#include "capf/blocking_pool.hpp"
#include "capf/config.hpp"
#include "capf/log.hpp"
#include "capf/server_methods.hpp"
#include "capf/version.hpp"

namespace {

int run(const capf::Config& config) {
    namespace log = capf::log;
    const auto started_at = std::chrono::system_clock::now();
    asio::io_context io(1);
    capf::BlockingPool pool(config.database.pool_size);

    capf::jsonrpc::Registry registry;
    capf::register_server_methods(registry, config, started_at);

    std::optional<capf::AdminAccessPolicy> policy;
    try {
        policy.emplace(config.admin.allowed_users, config.admin.allowed_group);
    } catch (const std::exception& e) {
        log::error("config_invalid", {{"error", e.what()}});
        return 1;
    }
    capf::AdminServer admin(
        io,
        capf::AdminServerOptions{config.admin.socket_path, config.admin.socket_mode,
                                 config.admin.max_request_size, config.admin.client_timeout, 64},
        registry, *policy, pool);
    try {
        admin.start();
    } catch (const std::exception& e) {
        log::error("admin_socket_failed",
                   {{"socket", config.admin.socket_path.string()}, {"error", e.what()}});
        return 1;
    }

    asio::signal_set stop_signals(io, SIGTERM, SIGINT);
    std::function<void(const std::error_code&, int)> on_stop = [&](const std::error_code& ec,
                                                                   int sig) {
        if (ec)
            return;
        log::info("shutdown", {{"signal", sig == SIGTERM ? "SIGTERM" : "SIGINT"}});
        admin.stop();
        io.stop();
    };
    stop_signals.async_wait(on_stop);
    asio::signal_set reload_signal(io, SIGHUP);
    std::function<void(const std::error_code&, int)> on_reload = [&](const std::error_code& ec,
                                                                     int) {
        if (ec)
            return;
        log::info("reload_requested", {{"reloaded", "nothing yet: no trust stores in this build"}});
        reload_signal.async_wait(on_reload);
    };
    reload_signal.async_wait(on_reload);

    log::info("started", {{"version", std::string(capf::version())},
                          {"node", config.node.name},
                          {"admin_socket", config.admin.socket_path.string()}});
    log::warn("phone_listener_unavailable",
              {{"port", config.listen.port},
               {"detail", "this build does not serve phones yet (TLS listener not implemented)"}});
    io.run();
    log::info("stopped");
    return 0;
}

}  // namespace

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
    capf::log::set_level(config.log.level);
    return run(config);
}
