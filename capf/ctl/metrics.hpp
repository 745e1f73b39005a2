// capfctl metrics: a server.stats result as Prometheus text (exposition
// format 0.0.4) for node_exporter's textfile collector. Pure functions of
// their input: no socket, no clock, no file (capfctl writes the file with
// capf/common/atomic_file, as the collector reads it whenever it is scraped).
#pragma once

#include <nlohmann/json_fwd.hpp>
#include <string>
#include <string_view>

namespace capf::ctl {

/// The figures of a server.stats result, each family with one "# HELP" and
/// one "# TYPE" line before its samples, starting with `capfd_up 1`.
/// Sections the result lacks (sessions, deliveries: capfd leaves them out
/// when it has no phone listener or no TFTP outbox), values that are not
/// numbers and families left without a sample are omitted. Integral values
/// are printed as integers. Never throws for a result of the wrong shape.
std::string prometheus_text(const nlohmann::json& stats);

/// What to publish when capfd could not be asked: `capfd_up 0` alone, with
/// its HELP and TYPE lines.
std::string prometheus_down_text();

/// A label value as the format writes it between its quotes: backslash,
/// double quote and line feed escaped as \\, \" and \n.
std::string escape_label_value(std::string_view value);

}  // namespace capf::ctl
