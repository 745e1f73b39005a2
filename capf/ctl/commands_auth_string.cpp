// auth-string generate|delete|pending|unlock.
#include <memory>

#include "capf/ctl/commands.hpp"
#include "capf/ctl/output.hpp"

namespace capf::ctl {

namespace {

struct GenerateOptions {
    std::string name, prefix, value;
    bool all = false;
    bool csv = false;
    int digits = 6;
};

json generate_params(const GenerateOptions& o) {
    json params = json::object();
    set_if_given(params, "name", o.name);
    if (o.all)
        params["all"] = true;
    set_if_given(params, "prefix", o.prefix);
    params["digits"] = o.digits;
    set_if_given(params, "value", o.value);
    return params;
}

void add_generate_command(CLI::App& auth_string, Command& out) {
    auto o = std::make_shared<GenerateOptions>();
    auto* cmd = auth_string.add_subcommand("generate",
                                           "Set auth strings; they are shown once, never stored");
    cmd->add_option("name", o->name, "One device (or use --all / --prefix)");
    cmd->add_flag("--all", o->all, "Every device");
    cmd->add_option("--prefix", o->prefix, "Every device whose name starts with this");
    cmd->add_option("--digits", o->digits, "Length of random strings (4-10)")
        ->capture_default_str();
    cmd->add_option("--value", o->value, "Use this string (one device only)");
    cmd->add_flag("--csv", o->csv, "Print name,auth_string as CSV");
    cmd->callback([o, &out] {
        out = Command{.method = "auth_string.generate", .params = generate_params(*o)};
        out.show = [csv = o->csv](const json& r, std::ostream& s) {
            const Columns columns = {{"name", "DEVICE"}, {"auth_string", "AUTH STRING"}};
            const json& rows = member(r, "auth_strings");
            csv ? print_csv(rows, columns, s) : print_table(rows, columns, s);
        };
    });
}

struct PendingOptions {
    std::string prefix;
};

void add_pending_command(CLI::App& auth_string, Command& out) {
    auto o = std::make_shared<PendingOptions>();
    auto* cmd = auth_string.add_subcommand(
        "pending", "Devices with an auth string set (never the string), one name a line");
    cmd->add_option("--prefix", o->prefix, "Only names starting with this");
    cmd->callback([o, &out] {
        out = Command{.method = "auth_string.pending"};
        set_if_given(out.params, "prefix", o->prefix);
        out.show = [](const json& r, std::ostream& s) {
            for (const auto& name : member(r, "devices"))
                s << cell(name) << "\n";
        };
    });
}

void add_unlock_command(CLI::App& auth_string, Command& out) {
    auto device = std::make_shared<std::string>();
    auto* cmd = auth_string.add_subcommand(
        "unlock", "End a device's lockout after failed attempts; its auth string stays");
    cmd->add_option("device", *device, "Device name")->required();
    cmd->callback([device, &out] {
        out = Command{.method = "auth_string.unlock", .params = {{"device", *device}}};
        out.show = [name = *device](const json&, std::ostream& s) {
            s << "unlocked " << name << "\n";
        };
    });
}

}  // namespace

void add_auth_string_commands(CLI::App& app, Command& out) {
    auto* auth_string =
        app.add_subcommand("auth-string", "Generate, delete, list pending or unlock auth strings");
    auth_string->require_subcommand(1);
    add_generate_command(*auth_string, out);
    add_one_device_command(*auth_string, "delete", "Remove a device's auth string",
                           "auth_string.delete", "deleted the auth string of", out);
    add_pending_command(*auth_string, out);
    add_unlock_command(*auth_string, out);
}

}  // namespace capf::ctl
