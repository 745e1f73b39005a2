// device add|update|get|remove|list|import.
#include <algorithm>
#include <fstream>
#include <iostream>
#include <memory>
#include <stdexcept>

#include "capf/ctl/commands.hpp"
#include "capf/ctl/csv.hpp"
#include "capf/ctl/output.hpp"

namespace capf::ctl {

namespace {

const Columns device_columns = {{"name", "DEVICE"},
                                {"auth_mode", "AUTH"},
                                {"key_spec", "KEY"},
                                {"pending_operation", "OPERATION"},
                                {"operation_status", "STATUS"},
                                {"lsc_serial", "LSC SERIAL"},
                                {"lsc_not_after", "LSC EXPIRES"}};

/// A device with its LSC's serial, expiry and MD5 as top-level fields.
json flatten_device(const json& d) {
    json row = d;
    const json& lsc = member(d, "lsc");
    if (lsc.is_object()) {
        row["lsc_serial"] = member(lsc, "serial");
        row["lsc_not_after"] = member(lsc, "not_after");
        row["lsc_md5"] = member(lsc, "md5");
    }
    return row;
}

void show_device_row(const json& r, std::ostream& out) {
    print_table(json::array({flatten_device(r)}), device_columns, out);
}

struct DeviceSettingsOptions {
    std::string name, description, auth, key, require_sudi;
};

/// device add NAME / device update NAME, with the settings to give.
void add_settings_command(CLI::App& device, Command& out, const std::string& verb) {
    auto o = std::make_shared<DeviceSettingsOptions>();
    auto* cmd = device.add_subcommand(verb, verb + " a device, e.g. SEP001122334455");
    cmd->add_option("name", o->name, "Device name")->required();
    cmd->add_option("--description", o->description, "Free text, e.g. the phone's location");
    cmd->add_option("--auth", o->auth,
                    "null-string, auth-string, lsc, mic or lsc-or-mic (default from config)");
    cmd->add_option("--key", o->key,
                    "rsa-512 ... rsa-4096, ec-p256, ec-p384, ec-p521 (default from config)");
    cmd->add_option("--require-sudi", o->require_sudi,
                    "true: the phone must send a valid SUDI (default false; update keeps it)")
        ->check(CLI::IsMember({"true", "false"}));
    cmd->callback([o, &out, verb] {
        out = Command{.method = "device." + verb, .show = show_device_row};
        out.params["name"] = o->name;
        set_if_given(out.params, "description", o->description);
        set_if_given(out.params, "auth_mode", o->auth);
        set_if_given(out.params, "key_spec", o->key);
        if (!o->require_sudi.empty())
            out.params["require_sudi"] = o->require_sudi == "true";
    });
}

struct DeviceNameOptions {
    std::string name;
};

void add_get_command(CLI::App& device, Command& out) {
    auto o = std::make_shared<DeviceNameOptions>();
    auto* cmd = device.add_subcommand("get", "Show one device with its LSC and operation");
    cmd->add_option("name", o->name, "Device name")->required();
    cmd->callback([o, &out] {
        out = Command{.method = "device.get", .params = {{"name", o->name}}};
        out.show = [](const json& r, std::ostream& s) {
            json flat = flatten_device(r);
            flat.erase("lsc");
            print_nested(flat, s);
        };
    });
}

struct DeviceListOptions {
    std::string prefix, operation, status, after;
    int limit = 100;
};

void show_device_page(const json& r, std::ostream& out) {
    json rows = json::array();
    for (const auto& d : member(r, "devices"))
        rows.push_back(flatten_device(d));
    print_table(rows, device_columns, out);
    if (!member(r, "next_after").is_null())
        out << "(more: --after " << cell(member(r, "next_after")) << ")\n";
}

void add_device_list_command(CLI::App& device, Command& out) {
    auto o = std::make_shared<DeviceListOptions>();
    auto* cmd = device.add_subcommand("list", "List devices, a page at a time");
    cmd->add_option("--prefix", o->prefix, "Only names starting with this");
    cmd->add_option("--operation", o->operation,
                    "Only this pending operation: install, fetch, delete");
    cmd->add_option("--status", o->status,
                    "Only this status: pending, in-progress, succeeded, failed, expired");
    cmd->add_option("--limit", o->limit, "Page size (1-1000)")->capture_default_str();
    cmd->add_option("--after", o->after, "Start after this name (from the previous page)");
    cmd->callback([o, &out] {
        out = Command{.method = "device.list", .show = show_device_page};
        set_if_given(out.params, "prefix", o->prefix);
        set_if_given(out.params, "operation", o->operation);
        set_if_given(out.params, "status", o->status);
        set_if_given(out.params, "after", o->after);
        out.params["limit"] = o->limit;
    });
}

/// The devices of an import file (or "-": standard input) as device.add_bulk
/// wants them. Throws std::runtime_error naming the file and the line.
json read_device_csv(const std::string& path) {
    std::ifstream file_in;
    std::istream* in = &std::cin;
    if (path != "-") {
        file_in.open(path);
        if (!file_in)
            throw std::runtime_error("cannot open " + path);
        in = &file_in;
    }
    std::vector<std::vector<std::string>> records;
    try {
        records = capf::read_csv(*in);
    } catch (const capf::CsvError& e) {
        throw std::runtime_error(path + ": " + e.what());
    }
    if (!records.empty() && !records[0].empty() && records[0][0] == "name")
        records.erase(records.begin());
    static const char* const columns[] = {"name", "description", "auth_mode", "key_spec"};
    json devices = json::array();
    for (const auto& r : records) {
        if (r.size() > std::size(columns)) {
            throw std::runtime_error(path + ": the device " + r[0] + " has " +
                                     std::to_string(r.size()) +
                                     " columns; at most 4 are allowed (name, description, "
                                     "auth_mode, key_spec)");
        }
        json d = json::object();
        for (std::size_t i = 0; i < r.size(); ++i) {
            if (!r[i].empty())
                d[columns[i]] = r[i];
        }
        devices.push_back(std::move(d));
    }
    if (devices.empty())
        throw std::runtime_error(path + " holds no devices");
    return devices;
}

struct ImportOptions {
    std::string file;
    std::size_t chunk = 5000;
};

/// device.add_bulk for the file's devices, `chunk` at a time.
json import_devices(const ImportOptions& o, const Call& call) {
    const json devices = read_device_csv(o.file);
    std::size_t added = 0;
    for (std::size_t i = 0; i < devices.size(); i += o.chunk) {
        json part = json::array();
        for (std::size_t j = i; j < std::min(devices.size(), i + o.chunk); ++j)
            part.push_back(devices[j]);
        added += call("device.add_bulk", {{"devices", part}}).at("added").get<std::size_t>();
    }
    return json{{"added", added}, {"in_file", devices.size()}};
}

void add_import_command(CLI::App& device, Command& out) {
    auto o = std::make_shared<ImportOptions>();
    auto* cmd = device.add_subcommand(
        "import",
        "Add devices from a CSV file: name[,description[,auth_mode[,key_spec]]] per line, an "
        "optional header line starting with 'name'; existing devices are kept");
    cmd->add_option("file", o->file, "CSV file, or - for standard input")->required();
    cmd->add_option("--chunk", o->chunk, "Devices per request (1-50000)")
        ->check(CLI::Range(1, 50000))
        ->capture_default_str();
    cmd->callback([o, &out] {
        // The file is read when the command runs, so a bad file is a
        // one-line error like any other.
        out = Command{.run = [o](const Call& call) { return import_devices(*o, call); }};
        out.show = [](const json& r, std::ostream& s) {
            s << "added " << cell(member(r, "added")) << " of " << cell(member(r, "in_file"))
              << " device(s)";
            if (member(r, "added") != member(r, "in_file"))
                s << "; the others already existed and were kept";
            s << "\n";
        };
    });
}

}  // namespace

void add_device_commands(CLI::App& app, Command& out) {
    auto* device = app.add_subcommand("device", "Add, change, show, remove or list devices");
    device->require_subcommand(1);
    add_settings_command(*device, out, "add");
    add_settings_command(*device, out, "update");
    add_get_command(*device, out);
    add_one_device_command(*device, "remove", "Remove a device", "device.remove", "removed", out);
    add_device_list_command(*device, out);
    add_import_command(*device, out);
}

}  // namespace capf::ctl
