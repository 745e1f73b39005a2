// cert list DEVICE, cert revoke SERIAL.
#include <memory>

#include "capf/ctl/commands.hpp"
#include "capf/ctl/output.hpp"

namespace capf::ctl {

namespace {

const Columns certificate_columns = {{"serial", "SERIAL"},
                                     {"standing", "STANDING"},
                                     {"issued_at", "ISSUED"},
                                     {"not_after", "NOT AFTER"},
                                     {"md5", "MD5"}};

void add_cert_list_command(CLI::App& cert, Command& out) {
    auto device = std::make_shared<std::string>();
    auto* cmd = cert.add_subcommand(
        "list", "The certificates issued to a device, newest first, with their standing");
    cmd->add_option("device", *device, "Device name")->required();
    cmd->callback([device, &out] {
        out = Command{.method = "cert.list", .params = {{"device", *device}}};
        out.show = [](const json& r, std::ostream& s) { print_table(r, certificate_columns, s); };
    });
}

void add_revoke_command(CLI::App& cert, Command& out) {
    auto serial = std::make_shared<std::string>();
    auto* cmd = cert.add_subcommand(
        "revoke", "Revoke an issued certificate: its phone can no longer authenticate with it");
    cmd->add_option("serial", *serial, "Serial as 'cert list' shows it")->required();
    cmd->callback([serial, &out] {
        out = Command{.method = "cert.revoke", .params = {{"serial", *serial}}};
        out.show = [](const json& r, std::ostream& s) {
            s << "revoked " << cell(member(r, "serial")) << "\n";
        };
    });
}

}  // namespace

void add_cert_commands(CLI::App& app, Command& out) {
    auto* cert = app.add_subcommand("cert", "List a device's issued certificates or revoke one");
    cert->require_subcommand(1);
    add_cert_list_command(*cert, out);
    add_revoke_command(*cert, out);
}

}  // namespace capf::ctl
