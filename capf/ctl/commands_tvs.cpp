// tvs add FILE --role ROLE... [--ttl D], tvs list [--role R], tvs remove
// HASH-PREFIX, tvs export HASH-PREFIX [-o FILE], tvs export-bundle [--role R]
// [-o FILE], tvs import-bundle FILE... [--role R...] [--ttl D]: the TVS
// store of trusted certificates. capfctl has no crypto library: it sends
// the files' bytes (PEM as text, DER as base64) and capfd parses them.
#include <fstream>
#include <iterator>
#include <memory>
#include <stdexcept>

#include "capf/ctl/base64.hpp"
#include "capf/ctl/commands.hpp"
#include "capf/ctl/output.hpp"

namespace capf::ctl {

// A namespace of the file's own: the target is compiled in unity batches,
// and the helpers' names must not meet another file's.
namespace tvs_commands {
namespace {

constexpr const char* role_help =
    "ITL role, any case: sast, ccm, ccm-tftp, tftp, capf, app-server or tvs (repeat, or "
    "separate with commas)";
constexpr const char* ttl_help =
    "How long a phone may cache the answer, e.g. 3600s, 30m, 24h, 7d (default: capfd's "
    "tvs.default_ttl)";

const Columns certificate_columns = {
    {"subject", "SUBJECT"}, {"roles", "ROLES"},   {"ttl", "TTL"},       {"not_after", "EXPIRES"},
    {"expired", "EXPIRED"}, {"source", "SOURCE"}, {"sha256", "SHA-256"}};

std::string read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in)
        throw std::runtime_error("cannot open " + path);
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (in.bad())
        throw std::runtime_error("cannot read " + path);
    return bytes;
}

/// A certificate file as tvs.add takes it: PEM as text, anything else as
/// base64 (DER; capfd says when it is not).
std::string certificate_text(const std::string& bytes) {
    if (bytes.find("-----BEGIN") != std::string::npos)
        return bytes;
    return base64_encode(std::vector<std::uint8_t>(bytes.begin(), bytes.end()));
}

/// "a, b" of a JSON list of strings.
std::string joined_cells(const json& list) {
    std::string out;
    if (!list.is_array())
        return cell(list);
    for (const auto& item : list)
        out += (out.empty() ? "" : ",") + cell(item);
    return out;
}

/// The rows of tvs.list as the table shows them: roles joined, and where
/// each certificate comes from.
json table_rows(const json& certificates) {
    json rows = json::array();
    if (!certificates.is_array())
        return rows;
    for (json c : certificates) {
        c["roles"] = joined_cells(member(c, "roles"));
        c["source"] = member(c, "automatic") == true ? "node " + cell(member(c, "node"))
                                                     : std::string("operator");
        rows.push_back(std::move(c));
    }
    return rows;
}

/// `text` to standard output, or to `path` when one is given.
void write_out(const std::string& text, const std::string& path, std::ostream& out) {
    if (path.empty()) {
        out << text;
        return;
    }
    std::ofstream file(path, std::ios::binary);
    file << text;
    if (!file.flush())
        throw std::runtime_error("cannot write " + path);
}

struct AddOptions {
    std::string file, ttl;
    std::vector<std::string> roles;
};

void add_tvs_add_command(CLI::App& tvs, Command& out) {
    auto o = std::make_shared<AddOptions>();
    auto* cmd = tvs.add_subcommand(
        "add", "Trust a certificate (PEM or DER file) for TVS, with its roles, on every node");
    cmd->add_option("file", o->file, "PEM or DER certificate file")->required();
    cmd->add_option("--role", o->roles, role_help)->required()->delimiter(',');
    cmd->add_option("--ttl", o->ttl, ttl_help);
    cmd->callback([o, &out] {
        out = Command{.run = [o](const Call& call) {
            json params = {{"certificate", certificate_text(read_file(o->file))},
                           {"roles", o->roles}};
            set_if_given(params, "ttl", o->ttl);
            return call("tvs.add", params);
        }};
        out.show = [](const json& r, std::ostream& s) {
            s << cell(member(r, "result")) << " " << cell(member(r, "subject")) << "\nsha256 "
              << cell(member(r, "sha256")) << "\nroles " << joined_cells(member(r, "roles"))
              << ", ttl " << cell(member(r, "ttl")) << "\n";
            if (member(r, "expired") == true)
                s << "note: it expired on " << cell(member(r, "not_after")) << "\n";
        };
    });
}

void add_tvs_list_command(CLI::App& tvs, Command& out) {
    auto role = std::make_shared<std::string>();
    auto* cmd = tvs.add_subcommand("list", "List the TVS trusted certificates");
    cmd->add_option("--role", *role, "Only those of this role (default: every one)");
    cmd->callback([role, &out] {
        out = Command{.method = "tvs.list"};
        set_if_given(out.params, "role", *role);
        out.show = [](const json& r, std::ostream& s) {
            print_table(table_rows(member(r, "certificates")), certificate_columns, s);
        };
    });
}

void add_tvs_remove_command(CLI::App& tvs, Command& out) {
    auto prefix = std::make_shared<std::string>();
    auto* cmd = tvs.add_subcommand("remove", "Stop trusting a certificate an operator added");
    cmd->add_option("hash-prefix", *prefix, "Its SHA-256, or enough leading digits of it")
        ->required();
    cmd->callback([prefix, &out] {
        out = Command{.method = "tvs.remove", .params = {{"hash_prefix", *prefix}}};
        out.show = [](const json& r, std::ostream& s) {
            s << "removed " << cell(member(r, "subject")) << "\nsha256 "
              << cell(member(r, "sha256")) << "\n";
        };
    });
}

struct ExportOptions {
    std::string prefix, out_file;
};

void add_tvs_export_command(CLI::App& tvs, Command& out) {
    auto o = std::make_shared<ExportOptions>();
    auto* cmd = tvs.add_subcommand("export", "One trusted certificate as PEM");
    cmd->add_option("hash-prefix", o->prefix, "Its SHA-256, or enough leading digits of it")
        ->required();
    cmd->add_option("-o,--out", o->out_file, "Write to this file instead of standard output");
    cmd->callback([o, &out] {
        out = Command{.method = "tvs.export", .params = {{"hash_prefix", o->prefix}}};
        out.show = [o](const json& r, std::ostream& s) {
            write_out(cell(member(r, "pem")), o->out_file, s);
        };
    });
}

struct ExportBundleOptions {
    std::string role, out_file;
};

void add_tvs_export_bundle_command(CLI::App& tvs, Command& out) {
    auto o = std::make_shared<ExportBundleOptions>();
    auto* cmd = tvs.add_subcommand(
        "export-bundle",
        "The trusted certificates as a PEM bundle, roles and TTL in comments (for another "
        "cluster's 'tvs import-bundle')");
    cmd->add_option("--role", o->role, "Only those of this role (default: every one)");
    cmd->add_option("-o,--out", o->out_file, "Write to this file instead of standard output");
    cmd->callback([o, &out] {
        out = Command{.method = "tvs.export_bundle"};
        set_if_given(out.params, "role", o->role);
        out.show = [o](const json& r, std::ostream& s) {
            write_out(cell(member(r, "bundle")), o->out_file, s);
        };
    });
}

struct ImportOptions {
    std::vector<std::string> files, roles;
    std::string ttl;
};

void add_tvs_import_command(CLI::App& tvs, Command& out) {
    auto o = std::make_shared<ImportOptions>();
    auto* cmd = tvs.add_subcommand(
        "import-bundle",
        "Trust every certificate of PEM bundles (several files are merged): roles and TTL "
        "from each certificate's comments, else from --role and --ttl");
    cmd->add_option("files", o->files, "PEM bundle files")->required();
    cmd->add_option("--role", o->roles,
                    std::string(role_help) +
                        "; for certificates "
                        "without a roles comment")
        ->delimiter(',');
    cmd->add_option("--ttl", o->ttl, std::string(ttl_help) + "; for those without a ttl comment");
    cmd->callback([o, &out] {
        out = Command{.run = [o](const Call& call) {
            std::string bundle;
            for (const auto& file : o->files)
                bundle += read_file(file) + "\n";
            json params = {{"bundle", bundle}};
            if (!o->roles.empty())
                params["roles"] = o->roles;
            set_if_given(params, "ttl", o->ttl);
            return call("tvs.import_bundle", params);
        }};
        out.show = [](const json& r, std::ostream& s) {
            s << "added " << cell(member(r, "added")) << ", updated " << cell(member(r, "updated"))
              << ", unchanged " << cell(member(r, "unchanged")) << ", capfd's own (kept) "
              << cell(member(r, "kept_automatic")) << "\n";
        };
    });
}

}  // namespace
}  // namespace tvs_commands

void add_tvs_commands(CLI::App& app, Command& out) {
    auto* tvs = app.add_subcommand(
        "tvs", "The Trust Verification Service's trusted certificates, shared by every node");
    tvs->require_subcommand(1);
    tvs_commands::add_tvs_add_command(*tvs, out);
    tvs_commands::add_tvs_list_command(*tvs, out);
    tvs_commands::add_tvs_remove_command(*tvs, out);
    tvs_commands::add_tvs_export_command(*tvs, out);
    tvs_commands::add_tvs_export_bundle_command(*tvs, out);
    tvs_commands::add_tvs_import_command(*tvs, out);
}

}  // namespace capf::ctl
