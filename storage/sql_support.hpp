// Helpers shared by the repositories (internal to storage/): how values
// cross into and out of SQL. Parameters only; nothing here builds SQL text.
#pragma once

#include <cmath>
#include <optional>
#include <pqxx/pqxx>
#include <string>
#include <vector>

#include "storage/types.hpp"

namespace capf::storage::sql {

// Timestamps travel as seconds since the epoch (double precision): the SQL
// converts with to_timestamp()/extract(epoch), so no date text is parsed here.
inline std::string epoch_param(const std::optional<TimePoint>& t) {
    if (!t)
        return {};
    const auto us =
        std::chrono::duration_cast<std::chrono::microseconds>(t->time_since_epoch()).count();
    return std::to_string(us / 1'000'000) + "." + [&] {
        std::string frac = std::to_string(std::llabs(us % 1'000'000));
        return std::string(6 - frac.size(), '0') + frac;
    }();
}

inline std::optional<TimePoint> time_of(const pqxx::field& f) {
    if (f.is_null())
        return std::nullopt;
    const double seconds = f.as<double>();
    return TimePoint(
        std::chrono::microseconds(static_cast<long long>(std::llround(seconds * 1e6))));
}

inline Bytes bytes_of(const pqxx::field& f) {
    if (f.is_null())
        return {};
    const pqxx::binarystring b(f);
    return Bytes(b.begin(), b.end());
}

inline pqxx::binarystring blob(const Bytes& b) {
    return pqxx::binarystring(b.data(), b.size());
}

/// A PostgreSQL array literal, passed as a parameter value (never spliced
/// into SQL text): every element double-quoted, with \ and " escaped.
inline std::string array_literal(const std::vector<std::string>& items) {
    std::string out = "{";
    for (std::size_t i = 0; i < items.size(); ++i) {
        if (i > 0)
            out += ',';
        out += '"';
        for (char c : items[i]) {
            if (c == '"' || c == '\\')
                out += '\\';
            out += c;
        }
        out += '"';
    }
    out += '}';
    return out;
}

inline AuditEvent audit_event(std::string device, std::string peer, std::string node,
                              std::string event, std::string outcome, std::string detail) {
    return AuditEvent{std::move(device),  std::move(peer),   std::move(node), std::move(event),
                      std::move(outcome), std::move(detail), std::nullopt};
}

inline void audit_in(pqxx::work& txn, const AuditEvent& e) {
    txn.exec_params0(
        "INSERT INTO audit_events (device, peer, node, event, outcome, detail) "
        "VALUES ($1, $2, $3, $4, $5, $6)",
        e.device, e.peer, e.node, e.event, e.outcome, e.detail);
}

}  // namespace capf::storage::sql
