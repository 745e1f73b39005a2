#include "storage/audit_log.hpp"

#include <pqxx/pqxx>

#include "storage/connection_pool.hpp"
#include "storage/device_name.hpp"
#include "storage/device_rows.hpp"
#include "storage/error.hpp"
#include "storage/sql_support.hpp"

namespace capf::storage {

using namespace sql;

namespace {

void require_event_and_outcome(const AuditEvent& event) {
    if (event.event.empty() || event.outcome.empty()) {
        throw StorageError(StorageErrc::invalid_value,
                           "an audit event needs an event and an outcome");
    }
}

}  // namespace

void AuditLog::append_audit(const AuditEvent& event) {
    require_event_and_outcome(event);
    pool_.transact([&](pqxx::work& txn) { audit_in(txn, event); });
}

void AuditLog::append_rate_limited_audit(const AuditEvent& event) {
    require_event_and_outcome(event);
    // The first event of a minute inserts its row; the rest of that
    // minute only count on it, so a flood is bounded to one row per
    // device, source, cause and minute.
    one_statement(pool_, R"SQL(
            INSERT INTO audit_events (device, peer, node, event, outcome, detail, rate_window)
            VALUES ($1, $2, $3, $4, $5, $6, date_trunc('minute', now()))
            ON CONFLICT (device, peer, event, outcome, detail, rate_window)
                WHERE rate_window IS NOT NULL
            DO UPDATE SET repeat_count = audit_events.repeat_count + 1
        )SQL",
                  event.device, event.peer, event.node, event.event, event.outcome, event.detail);
}

std::size_t AuditLog::purge_older_than(std::chrono::seconds age, std::size_t limit) {
    // SKIP LOCKED: two nodes purging at once take different rows instead of
    // waiting for each other.
    return one_statement(pool_, R"SQL(
            DELETE FROM audit_events
            WHERE id IN (SELECT id FROM audit_events
                         WHERE at < now() - make_interval(secs => $1)
                         LIMIT $2
                         FOR UPDATE SKIP LOCKED)
        )SQL",
                         static_cast<double>(age.count()), static_cast<long long>(limit))
        .affected_rows();
}

std::vector<AuditEvent> AuditLog::audit_events(const AuditQuery& q) {
    std::vector<AuditEvent> out;
    const std::string device = q.device.empty() ? "" : checked_device_name(q.device);
    const auto r = one_statement(pool_, R"SQL(
            SELECT device, peer, node, event, outcome, detail, extract(epoch FROM at),
                repeat_count
            FROM audit_events
            WHERE ($1 = '' OR device = $1)
                AND (NULLIF($2, '') IS NULL OR at >= to_timestamp(NULLIF($2, '')::float8))
            ORDER BY id DESC
            LIMIT $3
        )SQL",
                                 device, epoch_param(q.since), static_cast<long long>(q.limit));
    for (const auto& row : r) {
        out.push_back(AuditEvent{row[0].as<std::string>(), row[1].as<std::string>(),
                                 row[2].as<std::string>(), row[3].as<std::string>(),
                                 row[4].as<std::string>(), row[5].as<std::string>(),
                                 time_of(row[6]), row[7].as<std::size_t>()});
    }
    return out;
}

}  // namespace capf::storage
