// audit [--device NAME] [--limit N]: audit events, newest first.
#include <memory>

#include "capf/ctl/commands.hpp"
#include "capf/ctl/output.hpp"

namespace capf::ctl {

namespace {

struct AuditOptions {
    std::string device;
    int limit = 100;
};

void show_events(const json& r, std::ostream& out) {
    print_table(member(r, "events"),
                {{"at", "TIME"},
                 {"device", "DEVICE"},
                 {"peer", "PEER"},
                 {"event", "EVENT"},
                 {"outcome", "OUTCOME"},
                 {"count", "COUNT"},
                 {"detail", "DETAIL"}},
                out);
}

}  // namespace

void add_audit_command(CLI::App& app, Command& out) {
    auto o = std::make_shared<AuditOptions>();
    auto* cmd = app.add_subcommand("audit", "Audit events, newest first");
    cmd->add_option("--device", o->device, "Only this device");
    cmd->add_option("--limit", o->limit, "How many")->capture_default_str();
    cmd->callback([o, &out] {
        out = Command{.method = "audit.query", .show = show_events};
        set_if_given(out.params, "device", o->device);
        out.params["limit"] = o->limit;
    });
}

}  // namespace capf::ctl
