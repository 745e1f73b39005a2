#include "capf/ctl/metrics.hpp"

#include <cmath>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <utility>
#include <vector>

#include "capf/ctl/output.hpp"

namespace capf::ctl {

namespace {

using json = nlohmann::json;
using Labels = std::vector<std::pair<std::string, std::string>>;
/// The samples of one family before they are checked: labels and the value
/// as capfd sent it (a non-number is dropped).
using Samples = std::vector<std::pair<Labels, json>>;

constexpr const char* gauge = "gauge";
constexpr const char* counter = "counter";

struct Family {
    std::string name;
    std::string type;
    std::string help;
    std::vector<std::string> samples;  ///< whole sample lines, without "\n"
};

/// A number as the format writes it: integers (and floats holding one) as
/// integers, other floats in JSON's shortest round-trip form; anything else
/// (null, string, boolean, object) is no value.
std::optional<std::string> number_text(const json& value) {
    if (value.is_number_unsigned())
        return std::to_string(value.get<std::uint64_t>());
    if (value.is_number_integer())
        return std::to_string(value.get<std::int64_t>());
    if (!value.is_number_float())
        return std::nullopt;
    const double d = value.get<double>();
    // Below 2^53 every integral double is exactly an int64.
    if (std::isfinite(d) && std::trunc(d) == d && std::fabs(d) < 9007199254740992.0)
        return std::to_string(static_cast<std::int64_t>(d));
    return value.dump();
}

/// HELP text escapes backslash and line feed (not the double quote).
std::string escape_help(std::string_view text) {
    std::string out;
    for (const char c : text) {
        if (c == '\\')
            out += "\\\\";
        else if (c == '\n')
            out += "\\n";
        else
            out += c;
    }
    return out;
}

std::string sample_line(const std::string& name, const Labels& labels, const std::string& value) {
    std::string line = name;
    if (!labels.empty()) {
        line += '{';
        for (std::size_t i = 0; i < labels.size(); ++i) {
            if (i > 0)
                line += ',';
            line += labels[i].first + "=\"" + escape_label_value(labels[i].second) + '"';
        }
        line += '}';
    }
    return line + ' ' + value;
}

/// Appends the family unless none of its samples has a number.
void add_family(std::vector<Family>& out, const char* name, const char* type, const char* help,
                const Samples& samples) {
    Family family{name, type, help, {}};
    for (const auto& [labels, value] : samples) {
        if (const auto number = number_text(value))
            family.samples.push_back(sample_line(family.name, labels, *number));
    }
    if (!family.samples.empty())
        out.push_back(std::move(family));
}

/// One sample per member of `section`, labelled `label` = the member's key
/// (changed by `value_of`): a newer capfd's new members come through.
template <typename ValueOf>
Samples keyed_samples(const json& section, const char* label, ValueOf value_of) {
    Samples samples;
    if (section.is_object()) {
        for (const auto& [key, value] : section.items())
            samples.push_back({{{label, value_of(key)}}, value});
    }
    return samples;
}

/// "mic_roots" -> "mic_root": server.stats names the lists, a label names one role.
std::string singular(const std::string& key) {
    return key.size() > 1 && key.back() == 's' ? key.substr(0, key.size() - 1) : key;
}

void add_sessions(const json& s, std::vector<Family>& out) {
    if (!s.is_object())
        return;
    add_family(out, "capfd_sessions_active", gauge, "Phone sessions open now.",
               {{{}, member(s, "active")}});
    add_family(out, "capfd_sessions_accepted_total", counter,
               "Phone connections accepted since capfd started.", {{{}, member(s, "accepted")}});
    add_family(out, "capfd_sessions_completed_total", counter,
               "Phone sessions that passed the TLS handshake and ended, since capfd started.",
               {{{}, member(s, "completed")}});
    add_family(out, "capfd_sessions_rejected_total", counter,
               "Phone connections closed at accept since capfd started, by reason: over_limit "
               "(limits.max_sessions were open), per_source (the address had "
               "limits.max_sessions_per_source open).",
               {{{{"reason", "over_limit"}}, member(s, "rejected_over_limit")},
                {{{"reason", "per_source"}}, member(s, "rejected_per_source")}});
    add_family(out, "capfd_tls_handshake_failures_total", counter,
               "TLS handshakes with phones that failed since capfd started, by reason: timeout "
               "(limits.handshake_timeout passed), error (refused or broken off).",
               {{{{"reason", "timeout"}}, member(s, "handshake_timeouts")},
                {{{"reason", "error"}}, member(s, "handshake_failures")}});
}

void add_tvs(const json& t, std::vector<Family>& out) {
    if (!t.is_object())
        return;
    add_family(out, "capfd_tvs_connections_active", gauge,
               "Trust Verification Service connections open now.", {{{}, member(t, "active")}});
    add_family(out, "capfd_tvs_connections_accepted_total", counter,
               "TVS connections accepted since capfd started.", {{{}, member(t, "accepted")}});
    add_family(out, "capfd_tvs_answers_total", counter,
               "TVS answers since capfd started, by answer: valid, invalid.",
               {{{{"answer", "valid"}}, member(t, "valid")},
                {{{"answer", "invalid"}}, member(t, "invalid")}});
    add_family(out, "capfd_tvs_closed_total", counter,
               "TVS connections capfd closed since it started, by reason: malformed (a request "
               "that could not be decoded), read_timeout (no whole request within "
               "tvs.read_timeout), request_limit (tvs.max_requests_per_connection answered), "
               "over_limit and per_source (at accept), handshake_timeout, handshake_error.",
               {{{{"reason", "malformed"}}, member(t, "malformed")},
                {{{"reason", "read_timeout"}}, member(t, "read_timeouts")},
                {{{"reason", "request_limit"}}, member(t, "request_limit_reached")},
                {{{"reason", "over_limit"}}, member(t, "rejected_over_limit")},
                {{{"reason", "per_source"}}, member(t, "rejected_per_source")},
                {{{"reason", "handshake_timeout"}}, member(t, "handshake_timeouts")},
                {{{"reason", "handshake_error"}}, member(t, "handshake_failures")}});
    add_family(out, "capfd_tvs_certificates", gauge,
               "Certificates in this node's TVS view of the trusted-certificate store.",
               {{{}, member(t, "certificates")}});
}

void add_deliveries(const json& d, std::vector<Family>& out) {
    if (!d.is_object())
        return;
    add_family(out, "capfd_deliveries", gauge,
               "Deliveries to the TFTP side waiting in the outbox, by state: pending (not "
               "delivered yet), failing (of those, the ones that failed at least once), parked "
               "(a device and encryptor whose failure waits for its cause to change: capfctl "
               "tftp failures).",
               {{{{"state", "pending"}}, member(d, "pending")},
                {{{"state", "failing"}}, member(d, "failing")},
                {{{"state", "parked"}}, member(d, "parked")}});
    add_family(out, "capfd_deliveries_delivered_last_hour", gauge,
               "Deliveries to the TFTP side completed in the last hour.",
               {{{}, member(d, "delivered_last_hour")}});
}

/// The day's audit events, one sample per event and outcome.
Samples event_samples(const json& events) {
    Samples samples;
    if (!events.is_array())
        return samples;
    for (const auto& row : events) {
        const json& event = member(row, "event");
        const json& outcome = member(row, "outcome");
        if (event.is_string() && outcome.is_string())
            samples.push_back(
                {{{"event", event.get<std::string>()}, {"outcome", outcome.get<std::string>()}},
                 member(row, "count")});
    }
    return samples;
}

std::string render(const std::vector<Family>& families) {
    std::string text;
    for (const auto& family : families) {
        text += "# HELP " + family.name + ' ' + escape_help(family.help) + '\n';
        text += "# TYPE " + family.name + ' ' + family.type + '\n';
        for (const auto& line : family.samples)
            text += line + '\n';
    }
    return text;
}

void add_up(std::vector<Family>& out, int up) {
    add_family(out, "capfd_up", gauge,
               "1 when capfd answered server.stats, 0 when it could not be reached or did not "
               "answer.",
               {{{}, up}});
}

}  // namespace

std::string escape_label_value(std::string_view value) {
    std::string out;
    for (const char c : value) {
        if (c == '\\')
            out += "\\\\";
        else if (c == '"')
            out += "\\\"";
        else if (c == '\n')
            out += "\\n";
        else
            out += c;
    }
    return out;
}

std::string prometheus_text(const json& stats) {
    std::vector<Family> families;
    add_up(families, 1);
    add_family(families, "capfd_uptime_seconds", gauge, "Seconds since capfd started.",
               {{{}, member(stats, "uptime_seconds")}});
    add_sessions(member(stats, "sessions"), families);
    add_family(
        families, "capfd_devices", gauge,
        "Devices in capfd's database, by state (the states overlap; total counts every "
        "device).",
        keyed_samples(member(stats, "devices"), "state", [](const std::string& k) { return k; }));
    add_deliveries(member(stats, "deliveries"), families);
    add_tvs(member(stats, "tvs"), families);
    const json& rollback = member(stats, "itl_rollback");
    if (rollback.is_boolean())
        add_family(families, "capfd_itl_rollback", gauge,
                   "1 while ITLFile.tlv is the rollback ITL (capfctl itl rollback, or the itl "
                   "encryptor's rollback): phones that load it accept any ITL.",
                   {{{}, rollback.get<bool>() ? 1 : 0}});
    add_family(families, "capfd_ctl_signer_refusals_total", counter,
               "CTLs not published since capfd started because no SAST of the published CTL "
               "signed them (log ctl_signer_not_trusted).",
               {{{}, member(member(stats, "ctl"), "signer_refusals")}});
    add_family(families, "capfd_trust_anchors", gauge, "Trust anchors capfd holds, by role.",
               keyed_samples(member(stats, "trust_anchors"), "role", singular));
    add_family(families, "capfd_audit_events_last_24h", gauge,
               "Audit events of the last 24 hours, by event and outcome.",
               event_samples(member(stats, "events_last_24h")));
    return render(families);
}

std::string prometheus_down_text() {
    std::vector<Family> families;
    add_up(families, 0);
    return render(families);
}

}  // namespace capf::ctl
