// capfctl: the administrator's client of the capfd admin socket. One
// subcommand per admin method, named as an operator would say it; tables by
// default, --json for scripts, --csv for reports and auth strings.
#include <CLI/CLI.hpp>
#include <cstdlib>
#include <fstream>
#include <iostream>

#include "capf/common/version.hpp"
#include "capf/ctl/admin_client.hpp"
#include "capf/ctl/base64.hpp"
#include "capf/ctl/csv.hpp"

namespace {

using json = nlohmann::json;

constexpr const char* default_socket = "/run/capfd/admin.sock";

std::string socket_default() {
    const char* env = std::getenv("CAPF_ADMIN_SOCKET");
    return env != nullptr && *env != '\0' ? env : default_socket;
}

std::string cell(const json& v) {
    if (v.is_null())
        return "-";
    if (v.is_string())
        return v.get<std::string>();
    if (v.is_boolean())
        return v.get<bool>() ? "yes" : "no";
    return v.dump();
}

void print_table(const json& rows,
                 const std::vector<std::pair<std::string, std::string>>& columns) {
    std::vector<std::size_t> width;
    for (const auto& [key, title] : columns)
        width.push_back(title.size());
    for (const auto& row : rows) {
        for (std::size_t i = 0; i < columns.size(); ++i) {
            width[i] = std::max(width[i], cell(row.value(columns[i].first, json())).size());
        }
    }
    auto line = [&](auto get) {
        for (std::size_t i = 0; i < columns.size(); ++i) {
            std::string s = get(i);
            std::cout << s
                      << (i + 1 < columns.size() ? std::string(width[i] - s.size() + 2, ' ') : "");
        }
        std::cout << "\n";
    };
    line([&](std::size_t i) { return columns[i].second; });
    for (const auto& row : rows)
        line([&](std::size_t i) { return cell(row.value(columns[i].first, json())); });
}

void print_csv(const json& rows, const std::vector<std::pair<std::string, std::string>>& columns) {
    auto quoted = [](const std::string& s) {
        if (s.find_first_of(",\"\n") == std::string::npos)
            return s;
        std::string out = "\"";
        for (char c : s)
            out += c == '"' ? std::string("\"\"") : std::string(1, c);
        return out + "\"";
    };
    for (std::size_t i = 0; i < columns.size(); ++i)
        std::cout << (i ? "," : "") << columns[i].first;
    std::cout << "\n";
    for (const auto& row : rows) {
        for (std::size_t i = 0; i < columns.size(); ++i) {
            const json v = row.value(columns[i].first, json());
            std::cout << (i ? "," : "") << quoted(v.is_null() ? "" : cell(v));
        }
        std::cout << "\n";
    }
}

const std::vector<std::pair<std::string, std::string>> device_columns = {
    {"name", "DEVICE"},
    {"auth_mode", "AUTH"},
    {"key_spec", "KEY"},
    {"pending_operation", "OPERATION"},
    {"operation_status", "STATUS"},
    {"lsc_serial", "LSC SERIAL"},
    {"lsc_not_after", "LSC EXPIRES"}};

/// Options left empty are not sent: capfd then applies its defaults.
void set_if_given(json& params, const char* key, const std::string& value) {
    if (!value.empty())
        params[key] = value;
}

json flatten_device(const json& d) {
    json row = d;
    if (d.contains("lsc") && d["lsc"].is_object()) {
        row["lsc_serial"] = d["lsc"]["serial"];
        row["lsc_not_after"] = d["lsc"]["not_after"];
        row["lsc_md5"] = d["lsc"]["md5"];
    }
    return row;
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
    int timeout_seconds = 120;
    app.add_option("--timeout", timeout_seconds, "Seconds to wait for capfd")
        ->check(CLI::Range(1, 3600))
        ->capture_default_str();
    app.require_subcommand(1);

    json params = json::object();
    std::string method;
    std::function<void(const json&)> show;  // human-readable output
    // Commands that need more than one call (an import in chunks) set this.
    std::function<json(capf::AdminClient&)> run_calls;
    bool csv = false;

    auto* version_cmd = app.add_subcommand("version", "capfd's version, node name and uptime");
    version_cmd->callback([&] {
        method = "server.version";
        show = [](const json& r) {
            std::cout << "capfd " << r.value("version", "?") << " on node " << r.value("node", "?")
                      << ", up " << r.value("uptime_seconds", 0) << " s\n";
        };
    });
    auto* summary_cmd = app.add_subcommand(
        "summary", "Server summary: identity, issuer, port, key spec, keygen, counts");
    summary_cmd->callback([&] {
        method = "server.summary";
        show = [](const json& r) {
            for (const auto& [k, v] : r.items())
                std::cout << k << ": " << (v.is_object() ? v.dump() : cell(v)) << "\n";
        };
    });
    app.add_subcommand("methods", "List every admin method capfd offers")->callback([&] {
        method = "methods";
        show = [](const json& r) {
            for (const auto& [name, summary] : r.items())
                std::cout << name << "  " << summary.get<std::string>() << "\n";
        };
    });

    // device add|update|get|remove|list
    auto* device = app.add_subcommand("device", "Add, change, show, remove or list devices");
    device->require_subcommand(1);
    std::string name, description, auth, key, prefix, operation_filter, status_filter, after;
    int limit = 100;
    for (const char* verb : {"add", "update"}) {
        auto* cmd =
            device->add_subcommand(verb, std::string(verb) + " a device, e.g. SEP001122334455");
        cmd->add_option("name", name, "Device name")->required();
        cmd->add_option("--description", description, "Free text, e.g. the phone's location");
        cmd->add_option("--auth", auth,
                        "null-string, auth-string, lsc, mic or lsc-or-mic (default from config)");
        cmd->add_option("--key", key,
                        "rsa-512 ... rsa-4096, ec-p256, ec-p384, ec-p521 (default from config)");
        cmd->callback([&, verb = std::string(verb)] {
            method = "device." + verb;
            params["name"] = name;
            set_if_given(params, "description", description);
            set_if_given(params, "auth_mode", auth);
            set_if_given(params, "key_spec", key);
            show = [](const json& r) {
                print_table(json::array({flatten_device(r)}), device_columns);
            };
        });
    }
    auto* device_get = device->add_subcommand("get", "Show one device with its LSC and operation");
    device_get->add_option("name", name, "Device name")->required();
    device_get->callback([&] {
        method = "device.get";
        params["name"] = name;
        show = [](const json& r) {
            const json flat = flatten_device(r);
            for (const auto& [k, v] : flat.items()) {
                if (k != "lsc")
                    std::cout << k << ": " << cell(v) << "\n";
            }
        };
    });
    auto* device_remove = device->add_subcommand("remove", "Remove a device");
    device_remove->add_option("name", name, "Device name")->required();
    device_remove->callback([&] {
        method = "device.remove";
        params["name"] = name;
        show = [&](const json&) { std::cout << "removed " << name << "\n"; };
    });
    auto* device_list = device->add_subcommand("list", "List devices, a page at a time");
    device_list->add_option("--prefix", prefix, "Only names starting with this");
    device_list->add_option("--operation", operation_filter,
                            "Only this pending operation: install, fetch, delete");
    device_list->add_option("--status", status_filter,
                            "Only this status: pending, in-progress, succeeded, failed, expired");
    device_list->add_option("--limit", limit, "Page size (1-1000)")->capture_default_str();
    device_list->add_option("--after", after, "Start after this name (from the previous page)");
    device_list->callback([&] {
        method = "device.list";
        set_if_given(params, "prefix", prefix);
        set_if_given(params, "operation", operation_filter);
        set_if_given(params, "status", status_filter);
        set_if_given(params, "after", after);
        params["limit"] = limit;
        show = [](const json& r) {
            json rows = json::array();
            for (const auto& d : r["devices"])
                rows.push_back(flatten_device(d));
            print_table(rows, device_columns);
            if (!r["next_after"].is_null())
                std::cout << "(more: --after " << cell(r["next_after"]) << ")\n";
        };
    });

    auto* device_import = device->add_subcommand(
        "import",
        "Add devices from a CSV file: name[,description[,auth_mode[,key_spec]]] per line, an "
        "optional header line starting with 'name'; existing devices are kept");
    std::string import_file;
    std::size_t chunk = 5000;
    device_import->add_option("file", import_file, "CSV file, or - for standard input")->required();
    device_import->add_option("--chunk", chunk, "Devices per request (1-50000)")
        ->check(CLI::Range(1, 50000))
        ->capture_default_str();
    device_import->callback([&] {
        // Read when the command runs, so a bad file is a one-line error like any other.
        run_calls = [&](capf::AdminClient& client) {
            const json devices = read_device_csv(import_file);
            std::size_t added = 0;
            for (std::size_t i = 0; i < devices.size(); i += chunk) {
                json part = json::array();
                for (std::size_t j = i; j < std::min(devices.size(), i + chunk); ++j)
                    part.push_back(devices[j]);
                added +=
                    client.call("device.add_bulk", {{"devices", part}})["added"].get<std::size_t>();
            }
            return json{{"added", added}, {"in_file", devices.size()}};
        };
        show = [](const json& r) {
            std::cout << "added " << cell(r["added"]) << " of " << cell(r["in_file"])
                      << " device(s); the others already existed and were kept\n";
        };
    });

    // schedule OPERATION [NAME] [--all|--prefix]
    auto* schedule = app.add_subcommand(
        "schedule", "Schedule install, fetch, delete or none for a device or in bulk");
    std::string operation;
    bool all = false, override_device = false;
    int deadline_hours = 0;
    schedule->add_option("operation", operation, "install, fetch, delete or none")->required();
    schedule->add_option("name", name, "One device (or use --all / --prefix)");
    schedule->add_flag("--all", all, "Every device");
    schedule->add_option("--prefix", prefix, "Every device whose name starts with this");
    schedule->add_option("--auth", auth, "Authentication for this operation");
    schedule->add_option("--key", key, "Key spec for an install");
    schedule->add_option("--deadline-hours", deadline_hours,
                         "The operation must complete within this many hours");
    schedule->add_flag("--override", override_device,
                       "Bulk: replace devices' own pending operations too");
    schedule->callback([&] {
        method = "operation.schedule";
        params["operation"] = operation;
        set_if_given(params, "name", name);
        if (all)
            params["all"] = true;
        set_if_given(params, "prefix", prefix);
        set_if_given(params, "auth_mode", auth);
        set_if_given(params, "key_spec", key);
        if (deadline_hours > 0)
            params["deadline_hours"] = deadline_hours;
        if (override_device)
            params["override"] = true;
        show = [&](const json& r) {
            std::cout << "scheduled " << operation << " for " << cell(r["scheduled"])
                      << " device(s)\n";
        };
    });
    auto* cancel = app.add_subcommand("cancel", "Cancel a device's pending operation");
    cancel->add_option("name", name, "Device name")->required();
    cancel->callback([&] {
        method = "operation.cancel";
        params["name"] = name;
        show = [&](const json&) { std::cout << "cancelled the operation of " << name << "\n"; };
    });

    // auth-string generate|delete|pending
    auto* auth_string =
        app.add_subcommand("auth-string", "Generate, delete or list pending auth strings");
    auth_string->require_subcommand(1);
    auto* generate = auth_string->add_subcommand(
        "generate", "Set auth strings; they are shown once, never stored");
    int digits = 6;
    std::string value;
    generate->add_option("name", name, "One device (or use --all / --prefix)");
    generate->add_flag("--all", all, "Every device");
    generate->add_option("--prefix", prefix, "Every device whose name starts with this");
    generate->add_option("--digits", digits, "Length of random strings (4-10)")
        ->capture_default_str();
    generate->add_option("--value", value, "Use this string (one device only)");
    generate->add_flag("--csv", csv, "Print name,auth_string as CSV");
    generate->callback([&] {
        method = "auth_string.generate";
        set_if_given(params, "name", name);
        if (all)
            params["all"] = true;
        set_if_given(params, "prefix", prefix);
        params["digits"] = digits;
        set_if_given(params, "value", value);
        show = [&](const json& r) {
            const std::vector<std::pair<std::string, std::string>> cols = {
                {"name", "DEVICE"}, {"auth_string", "AUTH STRING"}};
            csv ? print_csv(r["auth_strings"], cols) : print_table(r["auth_strings"], cols);
        };
    });
    auto* auth_delete = auth_string->add_subcommand("delete", "Remove a device's auth string");
    auth_delete->add_option("name", name, "Device name")->required();
    auth_delete->callback([&] {
        method = "auth_string.delete";
        params["name"] = name;
        show = [&](const json&) { std::cout << "deleted the auth string of " << name << "\n"; };
    });
    auto* auth_pending = auth_string->add_subcommand(
        "pending", "Devices with an auth string set (never the string)");
    auth_pending->add_option("--prefix", prefix, "Only names starting with this");
    auth_pending->callback([&] {
        method = "auth_string.pending";
        set_if_given(params, "prefix", prefix);
        show = [](const json& r) {
            for (const auto& n : r["devices"])
                std::cout << n.get<std::string>() << "\n";
        };
    });

    auto* report =
        app.add_subcommand("report", "Per device: LSC, serial, expiry, MD5, operation and status");
    int expiring = -1;
    report->add_option("--expiring", expiring, "Only LSCs expiring within this many days");
    report->add_option("--prefix", prefix, "Only names starting with this");
    report->add_flag("--csv", csv, "CSV for spreadsheets");
    report->callback([&] {
        method = "report";
        if (expiring >= 0)
            params["expiring_days"] = expiring;
        set_if_given(params, "prefix", prefix);
        show = [&](const json& r) {
            const std::vector<std::pair<std::string, std::string>> cols = {
                {"name", "DEVICE"},       {"lsc", "LSC"},      {"serial", "SERIAL"},
                {"not_after", "EXPIRES"}, {"md5", "MD5"},      {"pending_operation", "OPERATION"},
                {"status", "STATUS"},     {"reason", "REASON"}};
            csv ? print_csv(r["devices"], cols) : print_table(r["devices"], cols);
        };
    });

    auto* audit = app.add_subcommand("audit", "Audit events, newest first");
    audit->add_option("--device", name, "Only this device");
    audit->add_option("--limit", limit, "How many")->capture_default_str();
    audit->callback([&] {
        method = "audit.query";
        set_if_given(params, "device", name);
        params["limit"] = limit;
        show = [](const json& r) {
            print_table(r["events"], {{"at", "TIME"},
                                      {"device", "DEVICE"},
                                      {"peer", "PEER"},
                                      {"event", "EVENT"},
                                      {"outcome", "OUTCOME"},
                                      {"detail", "DETAIL"}});
        };
    });

    auto* trust = app.add_subcommand("trust", "Trust anchors by role (lsc-issuer, mic-root)");
    trust->require_subcommand(1);
    std::string role;
    auto* trust_list = trust->add_subcommand("list", "List the anchors of a role");
    trust_list->add_option("role", role, "lsc-issuer or mic-root")->required();
    trust_list->callback([&] {
        method = "trust.list";
        params["role"] = role;
        show = [](const json& r) {
            print_table(r["anchors"], {{"subject", "SUBJECT"},
                                       {"not_after", "EXPIRES"},
                                       {"source", "SOURCE"},
                                       {"sha256", "SHA-256"}});
        };
    });
    auto* trust_add = trust->add_subcommand(
        "add", "Add a CA certificate (PEM or DER file) as an anchor of a role, for every node");
    std::string cert_file;
    trust_add->add_option("role", role, "lsc-issuer or mic-root")->required();
    trust_add->add_option("file", cert_file, "PEM or DER certificate file")
        ->required()
        ->check(CLI::ExistingFile);
    trust_add->callback([&] {
        method = "trust.add";
        params["role"] = role;
        std::ifstream in(cert_file, std::ios::binary);
        const std::string bytes((std::istreambuf_iterator<char>(in)),
                                std::istreambuf_iterator<char>());
        if (bytes.find("-----BEGIN") != std::string::npos) {
            params["pem"] = bytes;
        } else {
            params["der_base64"] =
                capf::ctl::base64_encode(std::vector<std::uint8_t>(bytes.begin(), bytes.end()));
        }
        show = [](const json& r) {
            std::cout << "added " << cell(r["role"]) << " anchor " << cell(r["subject"])
                      << "\nsha256 " << cell(r["sha256"]) << "\n";
        };
    });
    auto* trust_remove =
        trust->add_subcommand("remove", "Remove an anchor added with 'trust add' (by SHA-256)");
    std::string sha256;
    trust_remove->add_option("role", role, "lsc-issuer or mic-root")->required();
    trust_remove->add_option("sha256", sha256, "Fingerprint as 'trust list' shows it")->required();
    trust_remove->callback([&] {
        method = "trust.remove";
        params["role"] = role;
        params["sha256"] = sha256;
        show = [](const json& r) {
            std::cout << "removed " << cell(r["role"]) << " anchor " << cell(r["sha256"]) << "\n";
        };
    });

    auto* stats = app.add_subcommand(
        "stats", "Sessions since start, fleet counts, trust anchors, events of the last 24 hours");
    stats->callback([&] {
        method = "server.stats";
        show = [](const json& r) {
            std::cout << "uptime: " << cell(r["uptime_seconds"]) << " s\n";
            for (const char* section : {"sessions", "devices", "trust_anchors"}) {
                if (!r.contains(section))
                    continue;
                std::cout << section << ":\n";
                for (const auto& [k, v] : r[section].items())
                    std::cout << "  " << k << ": " << cell(v) << "\n";
            }
            std::cout << "events in the last 24 hours:\n";
            print_table(r["events_last_24h"],
                        {{"event", "EVENT"}, {"outcome", "OUTCOME"}, {"count", "COUNT"}});
        };
    });

    auto* export_cert =
        app.add_subcommand("export-cert", "The CAPF certificate, for the ITL/CTL builder");
    bool der = false;
    std::string out_file;
    export_cert->add_flag("--der", der, "DER instead of PEM");
    export_cert->add_option("--out", out_file, "Write to this file instead of standard output");
    export_cert->callback([&] {
        method = "capf.certificate";
        params["format"] = der ? "der" : "pem";
        show = [&](const json& r) {
            const std::string data =
                der ? r["der_base64"].get<std::string>() : r["pem"].get<std::string>();
            if (out_file.empty()) {
                std::cout << data << (der ? "\n" : "");  // DER on a terminal: base64
            } else {
                std::ofstream out(out_file, std::ios::binary);
                if (der) {
                    const auto decoded = capf::ctl::base64_decode(data);
                    if (!decoded)
                        throw capf::AdminCallError(0,
                                                   "capfd sent a certificate that is not base64");
                    const auto& bytes = *decoded;
                    out.write(reinterpret_cast<const char*>(bytes.data()),
                              static_cast<std::streamsize>(bytes.size()));
                } else {
                    out << data;
                }
                if (!out.flush())
                    throw capf::AdminCallError(0, "cannot write " + out_file);
            }
        };
    });

    auto* call_cmd = app.add_subcommand("call", "Call any admin method with JSON parameters");
    std::string call_method, params_text = "{}";
    call_cmd->add_option("method", call_method, "Method name, e.g. server.version")->required();
    call_cmd->add_option("params", params_text, "Parameters as a JSON object")
        ->capture_default_str();
    call_cmd->callback([&] {
        method = call_method;
        try {
            params = json::parse(params_text);
        } catch (const json::parse_error&) {
            throw CLI::ValidationError(
                "params", "must be a JSON object, e.g. '{\"name\": \"SEP001122334455\"}'");
        }
        show = [](const json& r) { std::cout << r.dump(2) << "\n"; };
    });

    CLI11_PARSE(app, argc, argv);

    try {
        capf::AdminClient client(socket_path, std::chrono::seconds(timeout_seconds));
        const json result = run_calls ? run_calls(client) : client.call(method, params);
        if (as_json) {
            std::cout << result.dump(2) << "\n";
        } else if (show) {
            show(result);
        }
    } catch (const std::exception& e) {
        // AdminCallError (capfd refused, or cannot be reached) and local
        // problems such as an unreadable file: one line, non-zero exit.
        std::cerr << "capfctl: " << e.what() << "\n";
        return 1;
    }
    return 0;
}
