// Helpers shared by the repositories (internal to storage/): how values
// cross into and out of SQL. Values travel as parameters only; SQL text is
// made of compile-time fragments alone.
#pragma once

#include <cmath>
#include <initializer_list>
#include <optional>
#include <pqxx/pqxx>
#include <string>
#include <vector>

#include "storage/types.hpp"

namespace capf::storage::sql {

/// A piece of SQL text fixed at compile time. The constructor is consteval,
/// so text made at run time (a name, a number, anything a caller gave) does
/// not compile as a fragment: values can only reach a statement as $n
/// parameters.
class Fragment {
  public:
    // Implicit on purpose: a raw literal or a constexpr constant is a fragment.
    consteval Fragment(const char* text) : text_(text) {}
    const char* text() const noexcept { return text_; }

  private:
    const char* text_;
};

/// One statement from fragments in order, for statements that share a
/// constant piece (a column list, a filter clause). A newline between
/// fragments keeps their tokens apart.
inline std::string statement(std::initializer_list<Fragment> fragments) {
    std::string out;
    for (const auto& f : fragments) {
        out += f.text();
        out += '\n';
    }
    return out;
}

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
    txn.exec_params0(R"SQL(
        INSERT INTO audit_events (device, peer, node, event, outcome, detail)
        VALUES ($1, $2, $3, $4, $5, $6)
    )SQL",
                     e.device, e.peer, e.node, e.event, e.outcome, e.detail);
}

/// The outbox: tells the TFTP side that `device` changed. Called inside the
/// transaction that makes the change, so the notification commits with it
/// or not at all (DeliveryRepository delivers it).
inline void enqueue_delivery_in(pqxx::work& txn, const std::string& device, DeliveryChange change) {
    txn.exec_params0(R"SQL(
        INSERT INTO deliveries (device, change) VALUES ($1, $2)
    )SQL",
                     device, std::string(to_text(change)));
}

}  // namespace capf::storage::sql
