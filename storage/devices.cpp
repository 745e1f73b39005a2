#include "storage/devices.hpp"

#include <pqxx/pqxx>

#include "storage/connection_pool.hpp"
#include "storage/device_name.hpp"
#include "storage/device_rows.hpp"
#include "storage/error.hpp"
#include "storage/sql_support.hpp"

namespace capf::storage {
namespace {

using namespace sql;

constexpr const char* device_columns = R"SQL(
    name, description, auth_mode, key_spec, pending_operation, scheduled_in_bulk,
    extract(epoch FROM operation_deadline), operation_status, operation_reason,
    extract(epoch FROM operation_updated_at), auth_string_hash IS NOT NULL, failed_auth_count,
    auth_locked, lease_owner, extract(epoch FROM lease_expires_at), lsc_serial, lsc_der,
    extract(epoch FROM lsc_not_before), extract(epoch FROM lsc_not_after), lsc_public_key, lsc_md5,
    fetched_md5, extract(epoch FROM fetched_at), require_sudi
)SQL";

DeviceRecord device_of(const pqxx::row& r) {
    DeviceRecord d;
    d.name = r[0].as<std::string>();
    d.description = r[1].as<std::string>();
    d.auth_mode = parse_auth_mode(r[2].as<std::string>());
    d.key_spec = r[3].as<std::string>();
    d.pending_operation = parse_operation(r[4].as<std::string>());
    d.scheduled_in_bulk = r[5].as<bool>();
    d.operation_deadline = time_of(r[6]);
    if (!r[7].is_null())
        d.operation_status = parse_operation_status(r[7].as<std::string>());
    d.operation_reason = r[8].as<std::string>();
    d.operation_updated_at = time_of(r[9]);
    d.has_auth_string = r[10].as<bool>();
    d.failed_auth_count = r[11].as<int>();
    d.auth_locked = r[12].as<bool>();
    if (!r[13].is_null())
        d.lease_owner = r[13].as<std::string>();
    d.lease_expires_at = time_of(r[14]);
    if (!r[15].is_null()) {
        d.lsc = CurrentLsc{r[15].as<std::string>(), bytes_of(r[16]), *time_of(r[17]),
                           *time_of(r[18]),         bytes_of(r[19]), r[20].as<std::string>()};
    }
    if (!r[21].is_null())
        d.fetched_md5 = r[21].as<std::string>();
    d.fetched_at = time_of(r[22]);
    d.require_sudi = r[23].as<bool>();
    return d;
}

// What a device event says about the device's settings: the same words
// whether one device changed or ten thousand (an expression over the
// devices columns auth_mode and key_spec).
constexpr const char* settings_detail = R"SQL(
    'auth_mode ' || auth_mode || ', key_spec ' || key_spec
        || CASE WHEN require_sudi THEN ', require_sudi' ELSE '' END
)SQL";

/// A "device" audit event (added, updated) naming the device's settings as
/// they are now in this transaction.
void audit_device_settings(pqxx::work& txn, const std::string& name, const std::string& outcome,
                           const std::string& actor) {
    txn.exec_params0(statement({R"SQL(
        INSERT INTO audit_events (device, peer, event, outcome, detail)
        SELECT name, $2, 'device', $3,
    )SQL",
                                settings_detail, R"SQL(
        FROM devices WHERE name = $1
    )SQL"}),
                     name, actor, outcome);
}

/// Writes a device's settings with `text`, an INSERT or UPDATE of $1 name,
/// $2 description, $3 auth mode, $4 key spec and $5 require_sudi that
/// returns device_columns, and audits device/<outcome>. Throws
/// `none_written` when it returned no row.
DeviceRecord write_settings(ConnectionPool& pool, const std::string& text, const std::string& name,
                            const DeviceSettings& s, const std::string& outcome,
                            const std::string& actor, const StorageError& none_written) {
    const std::string mode(to_text(s.auth_mode));
    DeviceRecord out;
    pool.transact([&](pqxx::work& txn) {
        const auto r = txn.exec_params(text, name, s.description, mode, s.key_spec, s.require_sudi);
        if (r.empty())
            throw none_written;
        out = device_of(r[0]);
        audit_device_settings(txn, name, outcome, actor);
    });
    return out;
}

}  // namespace

DeviceRecord Devices::add_device(const DeviceSettings& s, const std::string& actor) {
    const std::string name = checked_device_name(s.name);
    return write_settings(
        pool_,
        statement({R"SQL(
            INSERT INTO devices (name, description, auth_mode, key_spec, require_sudi)
            VALUES ($1, $2, $3, $4, $5)
            ON CONFLICT (name) DO NOTHING
            RETURNING
        )SQL",
                   device_columns}),
        name, s, "added", actor,
        StorageError(StorageErrc::already_exists, "a device named " + name + " already exists"));
}

std::size_t Devices::add_devices(const std::vector<DeviceSettings>& devices,
                                 const std::string& actor) {
    std::vector<std::string> names, descriptions, modes, specs, sudi;
    for (const auto& d : devices) {
        names.push_back(checked_device_name(d.name));
        descriptions.push_back(d.description);
        modes.emplace_back(to_text(d.auth_mode));
        specs.push_back(d.key_spec);
        sudi.emplace_back(d.require_sudi ? "true" : "false");
    }
    // One statement for any number of devices: the audit rows are made
    // from what the INSERT returns, so only devices really added appear.
    return one_statement(pool_,
                         statement({R"SQL(
            WITH added AS (
                INSERT INTO devices (name, description, auth_mode, key_spec, require_sudi)
                SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[],
                                     $6::boolean[])
                ON CONFLICT (name) DO NOTHING
                RETURNING name, auth_mode, key_spec, require_sudi)
            INSERT INTO audit_events (device, peer, event, outcome, detail)
            SELECT name, $5, 'device', 'added',
        )SQL",
                                    settings_detail, R"SQL(
            FROM added
        )SQL"}),
                         array_literal(names), array_literal(descriptions), array_literal(modes),
                         array_literal(specs), actor, array_literal(sudi))
        .affected_rows();
}

DeviceRecord Devices::update_device(const DeviceSettings& s, const std::string& actor) {
    const std::string name = checked_device_name(s.name);
    return write_settings(pool_,
                          statement({R"SQL(
            UPDATE devices
            SET description = $2, auth_mode = $3, key_spec = $4, require_sudi = $5,
                updated_at = now()
            WHERE name = $1
            RETURNING
        )SQL",
                                     device_columns}),
                          name, s, "updated", actor,
                          StorageError(StorageErrc::not_found, "no device named " + name));
}

void Devices::remove_device(const std::string& raw_name, const std::string& actor) {
    const std::string name = checked_device_name(raw_name);
    pool_.transact([&](pqxx::work& txn) {
        require_found(txn.exec_params(R"SQL(DELETE FROM devices WHERE name = $1)SQL", name), name);
        audit_in(txn, audit_event(name, actor, "", "device", "removed", ""));
        // What was written for it on the TFTP side goes too.
        enqueue_delivery_in(txn, name, DeliveryChange::removed);
    });
}

std::optional<DeviceRecord> Devices::find_device(const std::string& raw_name) {
    const std::string name = checked_device_name(raw_name);
    return first_row(pool_, statement({R"SQL(SELECT)SQL", device_columns, R"SQL(
            FROM devices WHERE name = $1
        )SQL"}),
                     device_of, name);
}

Page Devices::list_devices(const DeviceFilter& filter, const std::string& after,
                           std::size_t limit) {
    const auto p = params_of(filter);
    Page page;
    const auto r = one_statement(pool_,
                                 statement({R"SQL(SELECT)SQL", device_columns,
                                            R"SQL(FROM devices WHERE)SQL", filter_clause, R"SQL(
                AND name > $5
                ORDER BY name
                LIMIT $6
            )SQL"}),
                                 p.prefix, p.operation, p.status, p.expiring, after,
                                 static_cast<long long>(limit));
    for (const auto& row : r)
        page.devices.push_back(device_of(row));
    if (page.devices.size() == limit && limit > 0) {
        page.next_after = page.devices.back().name;
    }
    return page;
}

}  // namespace capf::storage
