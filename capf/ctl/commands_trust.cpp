// trust list [ROLE], trust add ROLE FILE, trust remove ROLE SHA256.
#include <fstream>
#include <iterator>
#include <memory>

#include "capf/ctl/base64.hpp"
#include "capf/ctl/commands.hpp"
#include "capf/ctl/output.hpp"

namespace capf::ctl {

namespace {

/// Every role there is, in the order `trust list` without a role shows them.
constexpr const char* roles[] = {"lsc-issuer", "mic-root", "sudi-root", "intermediate"};
constexpr const char* role_help =
    "lsc-issuer, mic-root, sudi-root or intermediate (intermediates link a MIC or SUDI to its "
    "root; they are never anchors themselves)";

const Columns anchor_columns = {
    {"subject", "SUBJECT"}, {"not_after", "EXPIRES"}, {"source", "SOURCE"}, {"sha256", "SHA-256"}};

/// The anchors of every role, each with its "role": one trust.list per role,
/// which both a capfd that requires "role" and one that does not answer.
json list_every_role(const Call& call) {
    json anchors = json::array();
    for (const char* role : roles) {
        const json listed = call("trust.list", {{"role", role}});
        for (json anchor : member(listed, "anchors")) {
            anchor["role"] = role;
            anchors.push_back(std::move(anchor));
        }
    }
    return json{{"anchors", anchors}};
}

struct ListOptions {
    std::string role;
};

void add_trust_list_command(CLI::App& trust, Command& out) {
    auto o = std::make_shared<ListOptions>();
    auto* cmd = trust.add_subcommand("list", "List the anchors of a role, or of every role");
    cmd->add_option("role", o->role, std::string(role_help) + " (default: every role)");
    cmd->callback([o, &out] {
        if (!o->role.empty()) {
            out = Command{.method = "trust.list", .params = {{"role", o->role}}};
            out.show = [](const json& r, std::ostream& s) {
                print_table(member(r, "anchors"), anchor_columns, s);
            };
            return;
        }
        out = Command{.run = list_every_role};
        out.show = [](const json& r, std::ostream& s) {
            Columns columns = anchor_columns;
            columns.insert(columns.begin(), {"role", "ROLE"});
            print_table(member(r, "anchors"), columns, s);
        };
    });
}

struct AddOptions {
    std::string role, cert_file;
};

/// trust.add's parameters: the role, and the file as "pem" when it is PEM,
/// else as "der_base64".
json add_params(const AddOptions& o) {
    std::ifstream in(o.cert_file, std::ios::binary);
    const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (!in.good() && !in.eof())
        throw CLI::ValidationError("file", "cannot read " + o.cert_file);
    json params = {{"role", o.role}};
    if (bytes.find("-----BEGIN") != std::string::npos) {
        params["pem"] = bytes;
    } else {
        params["der_base64"] = base64_encode(std::vector<std::uint8_t>(bytes.begin(), bytes.end()));
    }
    return params;
}

void add_add_command(CLI::App& trust, Command& out) {
    auto o = std::make_shared<AddOptions>();
    auto* cmd = trust.add_subcommand(
        "add", "Add a CA certificate (PEM or DER file) as an anchor of a role, for every node");
    cmd->add_option("role", o->role, role_help)->required();
    cmd->add_option("file", o->cert_file, "PEM or DER certificate file")
        ->required()
        ->check(CLI::ExistingFile);
    cmd->callback([o, &out] {
        out = Command{.method = "trust.add", .params = add_params(*o)};
        out.show = [](const json& r, std::ostream& s) {
            s << "added " << cell(member(r, "role")) << " anchor " << cell(member(r, "subject"))
              << "\nsha256 " << cell(member(r, "sha256")) << "\n";
        };
    });
}

struct RemoveOptions {
    std::string role, sha256;
};

void add_remove_command(CLI::App& trust, Command& out) {
    auto o = std::make_shared<RemoveOptions>();
    auto* cmd =
        trust.add_subcommand("remove", "Remove an anchor added with 'trust add' (by SHA-256)");
    cmd->add_option("role", o->role, role_help)->required();
    cmd->add_option("sha256", o->sha256, "Fingerprint as 'trust list' shows it")->required();
    cmd->callback([o, &out] {
        out =
            Command{.method = "trust.remove", .params = {{"role", o->role}, {"sha256", o->sha256}}};
        out.show = [](const json& r, std::ostream& s) {
            s << "removed " << cell(member(r, "role")) << " anchor " << cell(member(r, "sha256"))
              << "\n";
        };
    });
}

}  // namespace

void add_trust_commands(CLI::App& app, Command& out) {
    auto* trust = app.add_subcommand("trust", "Trust anchors by role (lsc-issuer, mic-root)");
    trust->require_subcommand(1);
    add_trust_list_command(*trust, out);
    add_add_command(*trust, out);
    add_remove_command(*trust, out);
}

}  // namespace capf::ctl
