// version, summary, methods, stats: capfd about itself. No options.
#include <string>

#include "capf/ctl/commands.hpp"
#include "capf/ctl/output.hpp"

namespace capf::ctl {

namespace {

void show_version(const json& r, std::ostream& out) {
    out << "capfd " << cell(member(r, "version")) << " on node " << cell(member(r, "node"))
        << ", up " << cell(member(r, "uptime_seconds")) << " s\n";
}

void show_methods(const json& r, std::ostream& out) {
    if (!r.is_object())
        return;
    for (const auto& [name, summary] : r.items())
        out << name << "  " << cell(summary) << "\n";
}

/// Uptime, then each section (sessions, devices, trust anchors) as nested
/// lines, then the day's events as a table.
void show_stats(const json& r, std::ostream& out) {
    if (r.is_object() && r.value("itl_rollback", false))
        out << "WARNING: ITL rollback is on: phones that load ITLFile.tlv accept any ITL "
               "(capfctl itl rollback off)\n";
    out << "uptime: " << cell(member(r, "uptime_seconds")) << " s\n";
    json sections = r.is_object() ? r : json::object();
    sections.erase("uptime_seconds");
    sections.erase("events_last_24h");
    print_nested(sections, out);
    out << "events in the last 24 hours:\n";
    print_table(member(r, "events_last_24h"),
                {{"event", "EVENT"}, {"outcome", "OUTCOME"}, {"count", "COUNT"}}, out);
}

/// A subcommand of no options that calls `method` and shows its result.
void add_plain(CLI::App& app, Command& out, const std::string& name, const std::string& description,
               const std::string& method, std::function<void(const json&, std::ostream&)> show) {
    app.add_subcommand(name, description)->callback([&out, method, show] {
        out = Command{.method = method, .show = show};
    });
}

}  // namespace

void add_server_commands(CLI::App& app, Command& out) {
    add_plain(app, out, "version", "capfd's version, node name and uptime", "server.version",
              show_version);
    add_plain(app, out, "summary",
              "Server summary: identity, issuer, port, key spec, keygen, counts", "server.summary",
              [](const json& r, std::ostream& o) { print_nested(r, o); });
    add_plain(app, out, "methods", "List every admin method capfd offers", "methods", show_methods);
    add_plain(app, out, "stats",
              "Sessions since start, fleet counts, trust anchors, events of the last 24 hours",
              "server.stats", show_stats);
}

}  // namespace capf::ctl
