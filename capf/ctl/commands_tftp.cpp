// The TFTP side (issue 12): encrypt-config NAME | --all, hashes [NAME |
// --prefix P], itl build --out FILE; tftp failures [NAME] (issue 32); itl
// rollback on|off, ctl publish [--allow-new-signer], ctl show (issue 34).
#include <chrono>
#include <fstream>
#include <memory>
#include <thread>

#include "capf/ctl/admin_client.hpp"
#include "capf/ctl/base64.hpp"
#include "capf/ctl/commands.hpp"
#include "capf/ctl/output.hpp"

namespace capf::ctl {

namespace {

struct EncryptOptions {
    std::string device;
    bool all = false;
    bool no_wait = false;
    int wait_seconds = 600;
};

/// Asks for the delivery, then (unless --no-wait) waits until nothing is
/// pending: the files are written when this returns.
json encrypt_and_wait(const EncryptOptions& o, const Call& call) {
    const json params = o.all ? json{{"all", true}} : json{{"device", o.device}};
    json result = call("tftp.encrypt", params);
    if (o.no_wait)
        return result;
    const auto start = std::chrono::steady_clock::now();
    const auto deadline = start + std::chrono::seconds(o.wait_seconds);
    for (;;) {
        const json status = call("tftp.status", json::object());
        const auto pending = status.value("pending", 0);
        const auto failing = status.value("failing", 0);
        if (pending == 0 || (failing > 0 && failing == pending)) {
            result["pending"] = pending;
            result["failing"] = failing;
            result["parked"] = status.value("parked", 0);
            result["last_error"] = status.value("last_error", "");
            result["seconds"] =
                std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
            if (failing > 0)
                throw capf::AdminCallError(0, std::to_string(failing) +
                                                  " device(s) failing, last error: " +
                                                  status.value("last_error", std::string("?")));
            return result;
        }
        if (std::chrono::steady_clock::now() >= deadline)
            throw capf::AdminCallError(0, std::to_string(pending) +
                                              " device(s) still pending after " +
                                              std::to_string(o.wait_seconds) + " s");
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
}

void add_encrypt_config(CLI::App& app, Command& out) {
    auto o = std::make_shared<EncryptOptions>();
    auto* cmd = app.add_subcommand(
        "encrypt-config", "Run the configured encryptors now for one device or every device");
    cmd->add_option("device", o->device, "Device name");
    cmd->add_flag("--all", o->all, "Every device");
    cmd->add_flag("--no-wait", o->no_wait, "Return once requested, without waiting for delivery");
    cmd->add_option("--wait", o->wait_seconds, "Seconds to wait for delivery")
        ->check(CLI::Range(1, 86400))
        ->capture_default_str();
    cmd->callback([o, &out] {
        if (o->all == !o->device.empty())
            throw CLI::ValidationError("encrypt-config", "give a device name or --all, not both");
        out = Command{};
        out.run = [o](const Call& call) { return encrypt_and_wait(*o, call); };
        out.show = [o](const json& r, std::ostream& s) {
            s << "requested " << cell(member(r, "requested"));
            if (!o->no_wait)
                s << ", delivered in " << cell(member(r, "seconds")) << " s";
            if (r.value("parked", 0) > 0)
                s << "; " << cell(member(r, "parked"))
                  << " parked until their cause changes (capfctl tftp failures)";
            s << "\n";
        };
    });
}

struct HashesOptions {
    std::string device;
    std::string prefix;
    bool csv = false;
};

void add_hashes(CLI::App& app, Command& out) {
    auto o = std::make_shared<HashesOptions>();
    auto* cmd = app.add_subcommand("hashes", "Device name, certificate MD5 and key spec");
    cmd->add_option("device", o->device, "One device");
    cmd->add_option("--prefix", o->prefix, "Only names starting with this");
    cmd->add_flag("--csv", o->csv, "CSV for spreadsheets");
    cmd->callback([o, &out] {
        out = Command{.method = "tftp.hashes"};
        set_if_given(out.params, "device", o->device);
        set_if_given(out.params, "prefix", o->prefix);
        out.show = [csv = o->csv](const json& r, std::ostream& s) {
            const Columns columns = {{"name", "DEVICE"}, {"md5", "MD5"}, {"key_spec", "KEY"}};
            const json& rows = member(r, "devices");
            csv ? print_csv(rows, columns, s) : print_table(rows, columns, s);
        };
    });
}

void write_itl(const std::string& path, const json& r, std::ostream& out) {
    const auto bytes = base64_decode(cell(member(r, "itl_base64")));
    if (!bytes)
        throw capf::AdminCallError(0, "capfd sent an ITL that is not base64");
    std::ofstream file(path, std::ios::binary);
    file.write(reinterpret_cast<const char*>(bytes->data()),
               static_cast<std::streamsize>(bytes->size()));
    if (!file.flush())
        throw capf::AdminCallError(0, "cannot write " + path);
    out << "wrote " << path << " (" << bytes->size() << " bytes, " << cell(member(r, "records"))
        << " records)\n";
}

void show_rollback(const json& r, std::ostream& s) {
    if (r.value("itl_rollback", false))
        s << "ITL rollback is ON: ITLFile.tlv is the rollback ITL; phones that load it accept any "
             "ITL and unsigned configuration. Switch it off once they have moved.\n";
    else
        s << "ITL rollback is off: ITLFile.tlv is the normal ITL.\n";
    if (r.contains("note"))
        s << "note: " << cell(member(r, "note")) << "\n";
}

void add_itl(CLI::App& app, Command& out) {
    auto* itl = app.add_subcommand("itl", "The Identity Trust List");
    itl->require_subcommand(1);
    auto path = std::make_shared<std::string>();
    auto* build =
        itl->add_subcommand("build", "Build ITLFile.tlv now, signed by the TFTP identity");
    build->add_option("--out", *path, "Where to write it")->required();
    build->callback([path, &out] {
        out = Command{.method = "tftp.itl"};
        out.show = [path](const json& r, std::ostream& s) { write_itl(*path, r, s); };
    });
    auto state = std::make_shared<std::string>();
    auto* rollback = itl->add_subcommand(
        "rollback",
        "Publish the rollback ITL on every node (on), so phones can move to another cluster, "
        "or the normal ITL again (off)");
    rollback->add_option("state", *state, "on or off")
        ->required()
        ->check(CLI::IsMember({"on", "off"}));
    rollback->callback([state, &out] {
        out = Command{.method = "itl.rollback", .params = {{"on", *state == "on"}}};
        out.show = show_rollback;
    });
}

/// The published CTL: its signer, whether it verifies, then its records.
void show_ctl(const json& r, std::ostream& s) {
    const json& signer = member(r, "signer");
    s << cell(member(r, "file")) << ": " << cell(member(r, "bytes")) << " bytes, "
      << cell(member(r, "hash")) << "\n";
    const json& sast = member(signer, "sast");
    s << "signer: " << cell(member(signer, "name")) << " (serial " << cell(member(signer, "serial"))
      << ", " << (sast.is_string() ? sast.get<std::string>() : "not a configured SAST") << ")\n";
    s << "signature: "
      << (r.value("signature_valid", false) ? "verifies with the signer's SAST record"
                                            : "DOES NOT VERIFY with a SAST record of the file")
      << "\n";
    print_table(member(r, "records"),
                {{"role", "ROLE"},
                 {"subject", "SUBJECT"},
                 {"issuer", "ISSUER"},
                 {"serial", "SERIAL"},
                 {"sha256", "SHA-256"}},
                s);
}

void add_ctl(CLI::App& app, Command& out) {
    auto* ctl = app.add_subcommand("ctl", "The Certificate Trust List (CTLFile.tlv)");
    ctl->require_subcommand(1);
    auto allow = std::make_shared<bool>(false);
    auto* publish = ctl->add_subcommand(
        "publish",
        "Build and publish CTLFile.tlv now; refused when no SAST of the published CTL signs it");
    publish->add_flag("--allow-new-signer", *allow,
                      "Publish even so: phones holding the old CTL will refuse it and need a "
                      "factory reset");
    publish->callback([allow, &out] {
        out = Command{.method = "ctl.publish", .params = {{"allow_new_signer", *allow}}};
        out.show = [](const json& r, std::ostream& s) {
            s << "published " << cell(member(r, "file")) << " (" << cell(member(r, "records"))
              << " records), signed by " << cell(member(r, "signer")) << "\n";
        };
    });
    ctl->add_subcommand("show", "The published CTL: signer, signature check, records")
        ->callback([&out] { out = Command{.method = "ctl.show", .show = show_ctl}; });
}

struct FailuresOptions {
    std::string device;
    std::string cause;
    bool csv = false;
};

void add_failures(CLI::App& tftp, Command& out) {
    auto o = std::make_shared<FailuresOptions>();
    auto* cmd = tftp.add_subcommand(
        "failures",
        "Deliveries parked until their cause changes: device, encryptor, cause, since. "
        "key-not-rsa is retried by a new LSC of the device, no-source-file when the file "
        "appears; encrypt-config NAME or --all retries any of them now");
    cmd->add_option("device", o->device, "One device");
    cmd->add_option("--cause", o->cause, "Only this cause")
        ->check(CLI::IsMember({"key-not-rsa", "no-source-file", "invalid-device-name"}));
    cmd->add_flag("--csv", o->csv, "CSV for spreadsheets");
    cmd->callback([o, &out] {
        out = Command{.method = "tftp.failures"};
        set_if_given(out.params, "device", o->device);
        set_if_given(out.params, "cause", o->cause);
        out.show = [csv = o->csv](const json& r, std::ostream& s) {
            const Columns columns = {{"device", "DEVICE"},
                                     {"encryptor", "ENCRYPTOR"},
                                     {"cause", "CAUSE"},
                                     {"since", "SINCE"},
                                     {"error", "ERROR"}};
            const json& rows = member(r, "failures");
            csv ? print_csv(rows, columns, s) : print_table(rows, columns, s);
        };
    });
}

void add_tftp(CLI::App& app, Command& out) {
    auto* tftp = app.add_subcommand("tftp", "The TFTP side's deliveries");
    tftp->require_subcommand(1);
    add_failures(*tftp, out);
}

}  // namespace

void add_tftp_commands(CLI::App& app, Command& out) {
    add_encrypt_config(app, out);
    add_hashes(app, out);
    add_itl(app, out);
    add_ctl(app, out);
    add_tftp(app, out);
}

}  // namespace capf::ctl
