#include "storage/certificates.hpp"

#include <pqxx/pqxx>

#include "storage/connection_pool.hpp"
#include "storage/device_name.hpp"
#include "storage/device_rows.hpp"
#include "storage/error.hpp"
#include "storage/sql_support.hpp"

namespace capf::storage {
namespace {

using namespace sql;

/// A serial as the issuer writes it: lower-case hex. StorageError
/// invalid_value when it is not hex at all.
std::string serial_param(const std::string& serial_hex) {
    std::string out;
    for (char c : serial_hex) {
        const char lower = (c >= 'A' && c <= 'F') ? static_cast<char>(c - 'A' + 'a') : c;
        if (!((lower >= '0' && lower <= '9') || (lower >= 'a' && lower <= 'f'))) {
            throw StorageError(
                StorageErrc::invalid_value,
                "a certificate serial is hexadecimal digits, not '" + serial_hex + "'");
        }
        out += lower;
    }
    if (out.empty())
        throw StorageError(StorageErrc::invalid_value, "a certificate serial must not be empty");
    return out;
}

/// The standing from a certificate's row: its revocation reason (null when
/// not revoked), whether it is the device's LSC, whether a row exists and
/// whether it was confirmed.
CertificateStanding standing_of(const pqxx::field& reason, bool is_current, bool issued,
                                bool confirmed) {
    if (!reason.is_null()) {
        const auto text = reason.as<std::string>();
        if (text == "superseded")
            return CertificateStanding::superseded;
        if (text == "refused")
            return CertificateStanding::refused;
        if (text == "deleted")
            return CertificateStanding::deleted;
        return CertificateStanding::revoked;
    }
    if (is_current)
        return CertificateStanding::current;
    if (issued && !confirmed)
        return CertificateStanding::unknown_outcome;
    // Confirmed yet neither current nor revoked cannot arise since
    // migration 3; should it, the certificate was replaced: refuse it.
    return issued ? CertificateStanding::superseded : CertificateStanding::not_issued;
}

// Always one row, of $1 device and $2 serial, whatever exists: see
// standing_of_row.
constexpr const char* standing_query = R"SQL(
        SELECT COALESCE((SELECT lsc_serial = $2 FROM devices WHERE name = $1), false),
            c.serial IS NOT NULL, COALESCE(c.confirmed, false), c.revoked_reason
        FROM (VALUES (1)) AS one
        LEFT JOIN issued_certificates c ON c.device = $1 AND c.serial = $2
    )SQL";

CertificateStanding standing_of_row(const pqxx::row& r) {
    return standing_of(r[3], r[0].as<bool>(), r[1].as<bool>(), r[2].as<bool>());
}

CertificateStanding standing_in(pqxx::work& txn, const std::string& device,
                                const std::string& serial) {
    return standing_of_row(txn.exec_params(standing_query, device, serial)[0]);
}

/// Makes the unknown-outcome certificate `serial` the device's confirmed
/// LSC and supersedes the others. Returns whether that completed the
/// pending install (scheduled before the certificate was issued).
bool make_current(pqxx::work& txn, const std::string& device, const std::string& serial,
                  const Bytes& public_key_der) {
    txn.exec_params0(R"SQL(
        UPDATE devices d
        SET lsc_serial = c.serial, lsc_der = c.der, lsc_not_before = c.not_before,
            lsc_not_after = c.not_after, lsc_public_key = $3, lsc_md5 = c.md5,
            updated_at = now()
        FROM issued_certificates c
        WHERE d.name = $1 AND c.serial = $2
    )SQL",
                     device, serial, blob(public_key_der));
    txn.exec_params0(R"SQL(
        UPDATE issued_certificates SET confirmed = true WHERE serial = $1
    )SQL",
                     serial);
    revoke_in(txn, device, "superseded", R"SQL(serial <> $2)SQL", serial);
    return !txn.exec_params(R"SQL(
        UPDATE devices
        SET pending_operation = 'none', scheduled_in_bulk = false,
            operation_status = 'succeeded', operation_reason = 'lsc confirmed on next contact',
            operation_updated_at = now(), lease_owner = NULL, lease_expires_at = NULL
        WHERE name = $1 AND pending_operation = 'install'
            AND operation_scheduled_at <= (SELECT issued_at FROM issued_certificates
                                           WHERE serial = $2)
        RETURNING name
    )SQL",
                            device, serial)
                .empty();
}

}  // namespace

CertificateStanding Certificates::certificate_standing(const std::string& raw_device,
                                                       const std::string& serial_hex) {
    const std::string device = checked_device_name(raw_device);
    const std::string serial = serial_param(serial_hex);
    return first_row(pool_, standing_query, standing_of_row, device, serial)
        .value_or(CertificateStanding::not_issued);
}

PresentedConfirmation Certificates::confirm_presented_certificate(const std::string& raw_device,
                                                                  const std::string& serial_hex,
                                                                  const Bytes& public_key_der,
                                                                  const std::string& actor) {
    const std::string device = checked_device_name(raw_device);
    const std::string serial = serial_param(serial_hex);
    PresentedConfirmation out;
    pool_.transact([&](pqxx::work& txn) {
        // The device row, then the certificate's: a concurrent install,
        // confirmation or revocation waits, and the standing read below
        // is the one this transaction acts on.
        if (txn.exec_params(R"SQL(SELECT 1 FROM devices WHERE name = $1 FOR UPDATE)SQL", device)
                .empty())
            return;
        txn.exec_params(R"SQL(
            SELECT 1 FROM issued_certificates WHERE device = $1 AND serial = $2 FOR UPDATE
        )SQL",
                        device, serial);
        if (standing_in(txn, device, serial) != CertificateStanding::unknown_outcome)
            return;
        out.completed_install = make_current(txn, device, serial, public_key_der);
        out.confirmed = true;
        enqueue_delivery_in(txn, device, DeliveryChange::installed);
        audit_in(
            txn,
            audit_event(device, actor, "", "certificate", "confirmed",
                        "serial " + serial + ", presented by the phone" +
                            (out.completed_install ? "; this completed the pending install" : "")));
    });
    return out;
}

void Certificates::revoke_certificate(const std::string& serial_hex, const std::string& actor) {
    const std::string serial = serial_param(serial_hex);
    pool_.transact([&](pqxx::work& txn) {
        const auto r = txn.exec_params(R"SQL(
            SELECT device, revoked_reason,
                to_char(revoked_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')
            FROM issued_certificates WHERE serial = $1
            FOR UPDATE
        )SQL",
                                       serial);
        if (r.empty()) {
            throw StorageError(StorageErrc::not_found,
                               "no certificate with serial " + serial + " was issued");
        }
        if (!r[0][1].is_null()) {
            throw StorageError(StorageErrc::invalid_value, "certificate " + serial +
                                                               " was already revoked at " +
                                                               r[0][2].as<std::string>() + " (" +
                                                               r[0][1].as<std::string>() + ")");
        }
        txn.exec_params0(R"SQL(
            WITH revoked AS (
                UPDATE issued_certificates SET revoked_at = now(), revoked_reason = 'revoked'
                WHERE serial = $1
                RETURNING device, md5
            )
            INSERT INTO deliveries (device, change)
            SELECT d.name, 'revoked' FROM devices d JOIN revoked r ON r.device = d.name
            WHERE d.lsc_serial = $1 OR (d.lsc_serial IS NULL AND d.fetched_md5 = r.md5)
        )SQL",
                         serial);
        audit_in(txn, audit_event(r[0][0].as<std::string>(), actor, "", "certificate", "revoked",
                                  "serial " + serial));
    });
}

std::vector<IssuedCertificateInfo> Certificates::list_certificates(const std::string& raw_device) {
    const std::string device = checked_device_name(raw_device);
    std::vector<IssuedCertificateInfo> out;
    pool_.transact([&](pqxx::work& txn) {
        const auto r = txn.exec_params(R"SQL(
            SELECT c.serial, c.md5, c.node, extract(epoch FROM c.not_before),
                extract(epoch FROM c.not_after), extract(epoch FROM c.issued_at), c.confirmed,
                extract(epoch FROM c.revoked_at), c.revoked_reason,
                COALESCE(d.lsc_serial = c.serial, false)
            FROM issued_certificates c LEFT JOIN devices d ON d.name = c.device
            WHERE c.device = $1
            ORDER BY c.issued_at DESC, c.serial
        )SQL",
                                       device);
        for (const auto& row : r) {
            IssuedCertificateInfo info;
            info.serial_hex = row[0].as<std::string>();
            info.md5_hex = row[1].as<std::string>();
            info.node = row[2].as<std::string>();
            info.not_before = *time_of(row[3]);
            info.not_after = *time_of(row[4]);
            info.issued_at = *time_of(row[5]);
            info.confirmed = row[6].as<bool>();
            info.revoked_at = time_of(row[7]);
            info.revoked_reason = row[8].is_null() ? "" : row[8].as<std::string>();
            info.standing = standing_of(row[8], row[9].as<bool>(), true, info.confirmed);
            out.push_back(std::move(info));
        }
        if (r.empty() &&
            txn.exec_params(R"SQL(SELECT 1 FROM devices WHERE name = $1)SQL", device).empty()) {
            throw StorageError(StorageErrc::not_found, "no device named " + device);
        }
    });
    return out;
}

std::vector<std::pair<std::string, bool>> Certificates::issued_certificates(
    const std::string& raw_name) {
    const std::string name = checked_device_name(raw_name);
    std::vector<std::pair<std::string, bool>> out;
    for (const auto& row : one_statement(pool_, R"SQL(
            SELECT serial, confirmed FROM issued_certificates
            WHERE device = $1
            ORDER BY issued_at DESC, serial
        )SQL",
                                         name))
        out.emplace_back(row[0].as<std::string>(), row[1].as<bool>());
    return out;
}

}  // namespace capf::storage
