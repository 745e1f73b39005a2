// metrics [--output FILE]: server.stats in the Prometheus text format, for
// node_exporter's textfile collector. When capfd cannot be asked, capfd_up 0
// is still published (so an alert on it fires) and the exit status is 1.
#include <cstdint>
#include <memory>
#include <span>
#include <stdexcept>
#include <string>

#include "capf/common/atomic_file.hpp"
#include "capf/ctl/admin_client.hpp"
#include "capf/ctl/commands.hpp"
#include "capf/ctl/metrics.hpp"
#include "capf/ctl/output.hpp"

namespace capf::ctl {

namespace {

struct MetricsOptions {
    std::string output;  ///< empty: standard output
};

/// {"up": true, "stats": server.stats}, or {"up": false, "error": why} when
/// capfd could not be reached, timed out or answered with an error.
json scrape(const Call& call) {
    try {
        return {{"up", true}, {"stats", call("server.stats", json::object())}};
    } catch (const capf::AdminCallError& e) {
        return {{"up", false}, {"error", e.what()}};
    }
}

/// Prints or writes the text; after publishing capfd_up 0, throws why capfd
/// could not be asked, so that capfctl says so and exits 1.
void publish(const MetricsOptions& o, const json& scraped, std::ostream& out) {
    const bool up = member(scraped, "up") == true;
    const std::string text =
        up ? prometheus_text(member(scraped, "stats")) : prometheus_down_text();
    const std::string why = up ? "" : member(scraped, "error").get<std::string>();
    if (o.output.empty()) {
        out << text << std::flush;
        if (!up)
            throw std::runtime_error(why + " (printed capfd_up 0)");
        return;
    }
    try {
        // Named "." + the target + ".tmp-…" until renamed: the textfile
        // collector skips it for not ending in ".prom".
        write_file_atomically(
            o.output, std::span(reinterpret_cast<const std::uint8_t*>(text.data()), text.size()),
            0644);
    } catch (const FileWriteError& e) {
        if (up)
            throw;
        throw FileWriteError(why + "; capfd_up 0 not written either: " + e.what());
    }
    if (!up)
        throw std::runtime_error(why + " (wrote capfd_up 0 to " + o.output + ")");
}

}  // namespace

void add_metrics_command(CLI::App& app, Command& out) {
    auto o = std::make_shared<MetricsOptions>();
    auto* cmd = app.add_subcommand(
        "metrics",
        "server.stats in the Prometheus text format (for node_exporter's textfile collector)");
    cmd->add_option("--output", o->output,
                    "Write FILE atomically (mode 0644) instead of printing; capfd_up 0 when "
                    "capfd cannot be asked")
        ->type_name("FILE");
    cmd->callback([o, &app, &out] {
        // --json would print the raw result: that is `capfctl --json stats`.
        if (const auto* json_flag = app.get_option_no_throw("--json");
            json_flag != nullptr && json_flag->count() > 0)
            throw CLI::ValidationError("--json",
                                       "metrics prints the Prometheus text format; for the "
                                       "figures as JSON use `capfctl --json stats`");
        out = Command{.run = scrape,
                      .show = [o](const json& r, std::ostream& s) { publish(*o, r, s); }};
    });
}

}  // namespace capf::ctl
