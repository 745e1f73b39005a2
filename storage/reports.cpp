#include "storage/reports.hpp"

#include <pqxx/pqxx>

#include "storage/connection_pool.hpp"
#include "storage/device_rows.hpp"
#include "storage/sql_support.hpp"

namespace capf::storage {

using namespace sql;

std::vector<ReportRow> Reports::report(const DeviceFilter& filter) {
    const auto p = params_of(filter);
    std::vector<ReportRow> out;
    const auto r = one_statement(pool_,
                                 statement({R"SQL(
            SELECT name, lsc_serial, extract(epoch FROM lsc_not_after), lsc_md5, pending_operation,
                operation_status, operation_reason
            FROM devices
            WHERE
        )SQL",
                                            filter_clause, R"SQL(ORDER BY name)SQL"}),
                                 p.prefix, p.operation, p.status, p.expiring);
    for (const auto& row : r) {
        ReportRow rr;
        rr.name = row[0].as<std::string>();
        rr.has_lsc = !row[1].is_null();
        if (rr.has_lsc) {
            rr.lsc_serial = row[1].as<std::string>();
            rr.lsc_md5 = row[3].as<std::string>();
        }
        rr.lsc_not_after = time_of(row[2]);
        rr.pending_operation = parse_operation(row[4].as<std::string>());
        if (!row[5].is_null())
            rr.status = parse_operation_status(row[5].as<std::string>());
        rr.reason = row[6].as<std::string>();
        out.push_back(std::move(rr));
    }
    return out;
}

FleetStats Reports::fleet_stats() {
    const auto stats_of = [](const pqxx::row& row) {
        return FleetStats{row[0].as<std::size_t>(), row[1].as<std::size_t>(),
                          row[2].as<std::size_t>(), row[3].as<std::size_t>(),
                          row[4].as<std::size_t>(), row[5].as<std::size_t>(),
                          row[6].as<std::size_t>(), row[7].as<std::size_t>()};
    };
    // Counts over the table: always one row.
    return first_row(pool_, R"SQL(
            SELECT count(*), count(lsc_serial),
                count(*) FILTER (WHERE pending_operation = 'install'),
                count(*) FILTER (WHERE pending_operation = 'fetch'),
                count(*) FILTER (WHERE pending_operation = 'delete'),
                count(auth_string_hash), count(*) FILTER (WHERE auth_locked),
                count(*) FILTER (WHERE lease_expires_at > now())
            FROM devices
        )SQL",
                     stats_of)
        .value();
}

std::vector<AuditCount> Reports::audit_counts(TimePoint since) {
    std::vector<AuditCount> out;
    const auto r = one_statement(pool_, R"SQL(
            SELECT event, outcome, count(*) FROM audit_events
            WHERE at >= to_timestamp($1::float8)
            GROUP BY event, outcome
            ORDER BY event, outcome
        )SQL",
                                 epoch_param(since));
    for (const auto& row : r) {
        out.push_back(AuditCount{row[0].as<std::string>(), row[1].as<std::string>(),
                                 row[2].as<std::size_t>()});
    }
    return out;
}

}  // namespace capf::storage
