#include "storage/operation_schedule.hpp"

#include <pqxx/pqxx>

#include "storage/connection_pool.hpp"
#include "storage/device_name.hpp"
#include "storage/device_rows.hpp"
#include "storage/error.hpp"
#include "storage/sql_support.hpp"

namespace capf::storage {

using namespace sql;

// Scheduling never touches the auth-string failure count or lock: only a
// new string (set_auth_string_hashes) ends a lockout, so scheduling again
// cannot be used to get more guesses.
void OperationSchedule::schedule_operation(const std::string& raw_name, const ScheduleRequest& req,
                                           const std::string& actor) {
    const std::string name = checked_device_name(raw_name);
    const std::string operation(to_text(req.operation));
    const std::string mode = req.auth_mode ? std::string(to_text(*req.auth_mode)) : "";
    const std::string spec = req.key_spec.value_or("");
    pool_.transact([&](pqxx::work& txn) {
        const auto r = txn.exec_params(R"SQL(
            UPDATE devices
            SET pending_operation = $2, scheduled_in_bulk = false,
                auth_mode = COALESCE(NULLIF($3, ''), auth_mode),
                key_spec = COALESCE(NULLIF($4, ''), key_spec),
                operation_deadline = to_timestamp(NULLIF($5, '')::float8),
                operation_status = CASE WHEN $2 = 'none' THEN NULL ELSE 'pending' END,
                operation_reason = '', operation_scheduled_at = now(), operation_updated_at = now(),
                lease_owner = NULL, lease_expires_at = NULL, updated_at = now()
            WHERE name = $1
        )SQL",
                                       name, operation, mode, spec, epoch_param(req.deadline));
        require_found(r, name);
        audit_in(txn, audit_event(name, actor, "", "schedule", operation, "device level"));
    });
}

std::size_t OperationSchedule::schedule_bulk(const DeviceFilter& filter, const ScheduleRequest& req,
                                             bool override_device_level, const std::string& actor) {
    const auto p = params_of(filter);
    const std::string mode = req.auth_mode ? std::string(to_text(*req.auth_mode)) : "";
    const std::string spec = req.key_spec.value_or("");
    // Device-level wins (as on IOS): a device's own pending operation is
    // kept unless the administrator says to override it. One statement
    // however many devices: each scheduled device gets its audit row
    // from what the UPDATE returns.
    return one_statement(pool_,
                         statement({R"SQL(
            WITH scheduled AS (
                UPDATE devices
                SET pending_operation = $5, scheduled_in_bulk = true,
                    auth_mode = COALESCE(NULLIF($6, ''), auth_mode),
                    key_spec = COALESCE(NULLIF($7, ''), key_spec),
                    operation_deadline = to_timestamp(NULLIF($8, '')::float8),
                    operation_status = CASE WHEN $5 = 'none' THEN NULL ELSE 'pending' END,
                    operation_reason = '', operation_scheduled_at = now(),
                    operation_updated_at = now(),
                    lease_owner = NULL, lease_expires_at = NULL, updated_at = now()
                WHERE
            )SQL",
                                    filter_clause, R"SQL(
                    AND ($9 OR pending_operation = 'none' OR scheduled_in_bulk)
                RETURNING name)
            INSERT INTO audit_events (device, peer, event, outcome, detail)
            SELECT name, $10, 'schedule', $5, 'bulk' FROM scheduled
            )SQL"}),
                         p.prefix, p.operation, p.status, p.expiring,
                         std::string(to_text(req.operation)), mode, spec, epoch_param(req.deadline),
                         override_device_level, actor)
        .affected_rows();
}

void OperationSchedule::cancel_operation(const std::string& raw_name, const std::string& actor) {
    const std::string name = checked_device_name(raw_name);
    pool_.transact([&](pqxx::work& txn) {
        // The audit names what was cancelled, so read it (and lock the row)
        // before clearing it.
        const auto before = txn.exec_params(R"SQL(
            SELECT pending_operation FROM devices WHERE name = $1 FOR UPDATE
        )SQL",
                                            name);
        if (before.empty())
            throw StorageError(StorageErrc::not_found, "no device named " + name);
        txn.exec_params0(R"SQL(
            UPDATE devices
            SET pending_operation = 'none', scheduled_in_bulk = false,
                operation_status = CASE WHEN operation_status IN ('pending', 'in-progress')
                                        THEN 'failed' ELSE operation_status END,
                operation_reason = 'cancelled by an administrator', operation_updated_at = now(),
                lease_owner = NULL, lease_expires_at = NULL
            WHERE name = $1
        )SQL",
                         name);
        audit_in(txn, audit_event(name, actor, "", "schedule", "cancelled",
                                  before[0][0].as<std::string>()));
    });
}

std::size_t OperationSchedule::expire_overdue_operations() {
    std::size_t count = 0;
    pool_.transact([&](pqxx::work& txn) {
        const auto r = txn.exec(R"SQL(
            UPDATE devices
            SET pending_operation = 'none', operation_status = 'expired',
                operation_reason = 'deadline passed', operation_updated_at = now(),
                lease_owner = NULL, lease_expires_at = NULL
            WHERE pending_operation <> 'none' AND operation_deadline <= now()
                AND (lease_owner IS NULL OR lease_expires_at <= now())
            RETURNING name
        )SQL");
        count = r.size();
        for (const auto& row : r) {
            audit_in(txn, audit_event(row[0].as<std::string>(), "", "", "operation", "expired",
                                      "deadline passed"));
        }
    });
    return count;
}

}  // namespace capf::storage
