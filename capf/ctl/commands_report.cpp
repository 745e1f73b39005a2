// report [--expiring DAYS] [--prefix P] [--csv]
#include <memory>

#include "capf/ctl/commands.hpp"
#include "capf/ctl/output.hpp"

namespace capf::ctl {

namespace {

struct ReportOptions {
    std::string prefix;
    int expiring_days = -1;
    bool csv = false;
};

}  // namespace

void add_report_command(CLI::App& app, Command& out) {
    auto o = std::make_shared<ReportOptions>();
    auto* cmd =
        app.add_subcommand("report", "Per device: LSC, serial, expiry, MD5, operation and status");
    cmd->add_option("--expiring", o->expiring_days, "Only LSCs expiring within this many days");
    cmd->add_option("--prefix", o->prefix, "Only names starting with this");
    cmd->add_flag("--csv", o->csv, "CSV for spreadsheets");
    cmd->callback([o, &out] {
        out = Command{.method = "report"};
        if (o->expiring_days >= 0)
            out.params["expiring_days"] = o->expiring_days;
        set_if_given(out.params, "prefix", o->prefix);
        out.show = [csv = o->csv](const json& r, std::ostream& s) {
            const Columns columns = {{"name", "DEVICE"},   {"lsc", "LSC"},
                                     {"serial", "SERIAL"}, {"not_after", "EXPIRES"},
                                     {"md5", "MD5"},       {"pending_operation", "OPERATION"},
                                     {"status", "STATUS"}, {"reason", "REASON"}};
            const json& rows = member(r, "devices");
            csv ? print_csv(rows, columns, s) : print_table(rows, columns, s);
        };
    });
}

}  // namespace capf::ctl
