// capfctl: the administrator's client of the capfd admin socket.
#include <CLI/CLI.hpp>
#include <cstdlib>
#include <iostream>

#include "capf/admin_client.hpp"
#include "capf/version.hpp"

namespace {

constexpr const char* default_socket = "/run/capfd/admin.sock";

std::string socket_default() {
    const char* env = std::getenv("CAPF_ADMIN_SOCKET");
    return env != nullptr && *env != '\0' ? env : default_socket;
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"capfctl: administer capfd through its admin socket"};
    app.set_version_flag("--version", std::string(capf::version()));
    std::string socket_path = socket_default();
    app.add_option("--socket", socket_path,
                   "Path of the capfd admin socket (default: $CAPF_ADMIN_SOCKET or " +
                       std::string(default_socket) + ")");
    bool as_json = false;
    app.add_flag("--json", as_json, "Print the raw JSON result (for scripts)");
    int timeout_seconds = 60;
    app.add_option("--timeout", timeout_seconds, "Seconds to wait for capfd")
        ->check(CLI::Range(1, 3600))
        ->capture_default_str();
    app.require_subcommand(1);

    auto* version_cmd = app.add_subcommand("version", "Show capfd's version, node name and uptime");
    auto* methods_cmd = app.add_subcommand("methods", "List every admin method capfd offers");
    auto* call_cmd = app.add_subcommand("call", "Call any admin method with JSON parameters");
    std::string method;
    std::string params_text = "{}";
    call_cmd->add_option("method", method, "Method name, e.g. server.version")->required();
    call_cmd->add_option("params", params_text, "Parameters as a JSON object")
        ->capture_default_str();
    CLI11_PARSE(app, argc, argv);

    try {
        capf::AdminClient client(socket_path, std::chrono::seconds(timeout_seconds));
        if (version_cmd->parsed()) {
            const auto r = client.call("server.version");
            if (as_json) {
                std::cout << r.dump(2) << "\n";
            } else {
                std::cout << "capfd " << r.value("version", "?") << " on node "
                          << r.value("node", "?") << ", up " << r.value("uptime_seconds", 0)
                          << " s\n";
            }
        } else if (methods_cmd->parsed()) {
            const auto r = client.call("methods");
            if (as_json) {
                std::cout << r.dump(2) << "\n";
            } else {
                for (const auto& [name, summary] : r.items()) {
                    std::cout << name << "  " << summary.get<std::string>() << "\n";
                }
            }
        } else if (call_cmd->parsed()) {
            nlohmann::json params;
            try {
                params = nlohmann::json::parse(params_text);
            } catch (const nlohmann::json::parse_error&) {
                std::cerr << "capfctl: params must be a JSON object, e.g. '{\"name\": "
                             "\"SEP001122334455\"}'\n";
                return 2;
            }
            std::cout << client.call(method, params).dump(2) << "\n";
        }
    } catch (const capf::AdminCallError& e) {
        std::cerr << "capfctl: " << e.what() << "\n";
        return 1;
    }
    return 0;
}
