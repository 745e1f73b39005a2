// capfctl's subcommands, one builder per group. Each builder adds its
// subcommands to `app`; every subcommand owns its options (nothing is shared
// between subcommands) and, when it is the one parsed, sets `out`.
#pragma once

#include <CLI/CLI.hpp>

#include "capf/ctl/command.hpp"

namespace capf::ctl {

/// version, summary, methods, stats.
void add_server_commands(CLI::App& app, Command& out);
/// metrics [--output FILE]: server.stats as Prometheus text (capf/ctl/metrics.hpp).
void add_metrics_command(CLI::App& app, Command& out);
/// device add|update|get|remove|list|import.
void add_device_commands(CLI::App& app, Command& out);
/// schedule, cancel.
void add_operation_commands(CLI::App& app, Command& out);
/// auth-string generate|delete|pending|unlock.
void add_auth_string_commands(CLI::App& app, Command& out);
void add_report_command(CLI::App& app, Command& out);
void add_audit_command(CLI::App& app, Command& out);
/// cert list|revoke.
void add_cert_commands(CLI::App& app, Command& out);
/// trust list|add|remove.
void add_trust_commands(CLI::App& app, Command& out);
void add_export_cert_command(CLI::App& app, Command& out);
/// tvs add|list|remove|export|export-bundle|import-bundle (the TVS store).
void add_tvs_commands(CLI::App& app, Command& out);
/// encrypt-config, hashes, itl build|rollback, ctl publish|show, tftp failures (the TFTP side).
void add_tftp_commands(CLI::App& app, Command& out);
void add_call_command(CLI::App& app, Command& out);

/// A subcommand that takes one device name, calls `method` with it and
/// reports "<done> NAME": device remove, cancel, auth-string delete.
void add_one_device_command(CLI::App& parent, const std::string& verb, const std::string& summary,
                            const std::string& method, const std::string& done, Command& out);

}  // namespace capf::ctl
