// export-cert [--der] [--out FILE]: the CAPF certificate, for the ITL/CTL
// builder.
#include <fstream>
#include <memory>

#include "capf/ctl/admin_client.hpp"
#include "capf/ctl/base64.hpp"
#include "capf/ctl/commands.hpp"
#include "capf/ctl/output.hpp"

namespace capf::ctl {

namespace {

struct ExportOptions {
    bool der = false;
    std::string out_file;
};

/// The certificate to standard output (DER as base64 there) or to the file.
void write_certificate(const ExportOptions& o, const json& r, std::ostream& out) {
    const std::string data = cell(member(r, o.der ? "der_base64" : "pem"));
    if (o.out_file.empty()) {
        out << data << (o.der ? "\n" : "");
        return;
    }
    std::ofstream file(o.out_file, std::ios::binary);
    if (o.der) {
        const auto bytes = base64_decode(data);
        if (!bytes)
            throw capf::AdminCallError(0, "capfd sent a certificate that is not base64");
        file.write(reinterpret_cast<const char*>(bytes->data()),
                   static_cast<std::streamsize>(bytes->size()));
    } else {
        file << data;
    }
    if (!file.flush())
        throw capf::AdminCallError(0, "cannot write " + o.out_file);
}

}  // namespace

void add_export_cert_command(CLI::App& app, Command& out) {
    auto o = std::make_shared<ExportOptions>();
    auto* cmd = app.add_subcommand("export-cert", "The CAPF certificate, for the ITL/CTL builder");
    cmd->add_flag("--der", o->der, "DER instead of PEM");
    cmd->add_option("--out", o->out_file, "Write to this file instead of standard output");
    cmd->callback([o, &out] {
        out = Command{.method = "capf.certificate", .params = {{"format", o->der ? "der" : "pem"}}};
        out.show = [o](const json& r, std::ostream& s) { write_certificate(*o, r, s); };
    });
}

}  // namespace capf::ctl
