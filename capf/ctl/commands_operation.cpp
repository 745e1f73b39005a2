// schedule OPERATION [NAME] [--all|--prefix], cancel NAME.
#include <memory>

#include "capf/ctl/commands.hpp"
#include "capf/ctl/output.hpp"

namespace capf::ctl {

namespace {

struct ScheduleOptions {
    std::string operation, name, prefix, auth, key;
    bool all = false;
    bool override_device = false;
    int deadline_hours = 0;
};

json schedule_params(const ScheduleOptions& o) {
    json params = {{"operation", o.operation}};
    set_if_given(params, "name", o.name);
    if (o.all)
        params["all"] = true;
    set_if_given(params, "prefix", o.prefix);
    set_if_given(params, "auth_mode", o.auth);
    set_if_given(params, "key_spec", o.key);
    if (o.deadline_hours > 0)
        params["deadline_hours"] = o.deadline_hours;
    if (o.override_device)
        params["override"] = true;
    return params;
}

void add_schedule_command(CLI::App& app, Command& out) {
    auto o = std::make_shared<ScheduleOptions>();
    auto* cmd = app.add_subcommand(
        "schedule", "Schedule install, fetch, delete or none for a device or in bulk");
    cmd->add_option("operation", o->operation, "install, fetch, delete or none")->required();
    cmd->add_option("name", o->name, "One device (or use --all / --prefix)");
    cmd->add_flag("--all", o->all, "Every device");
    cmd->add_option("--prefix", o->prefix, "Every device whose name starts with this");
    cmd->add_option("--auth", o->auth, "Authentication for this operation");
    cmd->add_option("--key", o->key, "Key spec for an install");
    cmd->add_option("--deadline-hours", o->deadline_hours,
                    "The operation must complete within this many hours");
    cmd->add_flag("--override", o->override_device,
                  "Bulk: replace devices' own pending operations too");
    cmd->callback([o, &out] {
        out = Command{.method = "operation.schedule", .params = schedule_params(*o)};
        out.show = [operation = o->operation](const json& r, std::ostream& s) {
            s << "scheduled " << operation << " for " << cell(member(r, "scheduled"))
              << " device(s)\n";
        };
    });
}

}  // namespace

void add_operation_commands(CLI::App& app, Command& out) {
    add_schedule_command(app, out);
    add_one_device_command(app, "cancel", "Cancel a device's pending operation", "operation.cancel",
                           "cancelled the operation of", out);
}

}  // namespace capf::ctl
