#include "capf/ctl/cli.hpp"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <exception>
#include <optional>

#include "capf/common/version.hpp"
#include "capf/ctl/admin_client.hpp"
#include "capf/ctl/commands.hpp"

namespace capf::ctl {

namespace {

constexpr const char* built_in_socket = "/run/capfd/admin.sock";

}  // namespace

Cli::Cli(const std::string& default_socket)
    : app("capfctl: administer capfd through its admin socket") {
    global.socket_path = default_socket;
    app.set_version_flag("--version", std::string(capf::version()));
    // Subcommands inherit fallthrough as they are added: an option they do
    // not know goes up to capfctl, so --json, --socket and --timeout work
    // after the subcommand too ("capfctl device get X --json").
    app.fallthrough();
    app.add_option("--socket", global.socket_path,
                   std::string("Path of the capfd admin socket (default: $CAPF_ADMIN_SOCKET or ") +
                       built_in_socket + ")");
    app.add_flag("--json", global.json, "Print the raw JSON result (for scripts)");
    app.add_option("--timeout", global.timeout_seconds, "Seconds to wait for capfd")
        ->check(CLI::Range(1, 3600))
        ->capture_default_str();
    app.add_flag("--read-only", global.read_only,
                 "Be served with the read-only role whatever this uid may do: a method that "
                 "changes anything is refused (for health checks and metrics jobs)");
    app.require_subcommand(1);
    app.footer("--socket, --json, --timeout and --read-only may also follow the subcommand.");

    add_server_commands(app, command);
    add_metrics_command(app, command);
    add_device_commands(app, command);
    add_operation_commands(app, command);
    add_auth_string_commands(app, command);
    add_report_command(app, command);
    add_audit_command(app, command);
    add_cert_commands(app, command);
    add_trust_commands(app, command);
    add_export_cert_command(app, command);
    add_tvs_commands(app, command);
    add_tftp_commands(app, command);
    add_call_command(app, command);
}

void Cli::parse(std::vector<std::string> args) {
    std::reverse(args.begin(), args.end());  // CLI11 takes them last first
    app.parse(std::move(args));
}

std::string default_socket_path() {
    const char* env = std::getenv("CAPF_ADMIN_SOCKET");
    return env != nullptr && *env != '\0' ? env : built_in_socket;
}

void print_result(const GlobalOptions& global, const Command& command, const json& result,
                  std::ostream& out) {
    if (global.json) {
        out << result.dump(2) << "\n";
    } else if (command.show) {
        command.show(result, out);
    }
}

int run(const GlobalOptions& global, const Command& command, std::ostream& out, std::ostream& err) {
    try {
        // Connected at the first call, so that capfd being unreachable is that
        // call failing: a command may answer it (metrics publishes capfd_up 0).
        std::optional<AdminClient> client;
        const json result =
            execute(command, [&client, &global](const std::string& method, const json& params) {
                if (!client)
                    client.emplace(global.socket_path, std::chrono::seconds(global.timeout_seconds),
                                   global.read_only);
                return client->call(method, params);
            });
        print_result(global, command, result, out);
    } catch (const std::exception& e) {
        // AdminCallError (capfd refused, or cannot be reached) and local
        // problems such as an unreadable file: one line, non-zero exit.
        err << "capfctl: " << e.what() << "\n";
        return 1;
    }
    return 0;
}

}  // namespace capf::ctl
