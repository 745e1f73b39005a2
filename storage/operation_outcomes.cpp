#include "storage/operation_outcomes.hpp"

#include <pqxx/pqxx>

#include "storage/connection_pool.hpp"
#include "storage/device_rows.hpp"
#include "storage/error.hpp"
#include "storage/sql_support.hpp"

namespace capf::storage {
namespace {

using namespace sql;

StorageError lease_lost(const OperationClaim& claim) {
    return StorageError(StorageErrc::lease_lost,
                        "node " + claim.node + " no longer holds the operation lease of " +
                            claim.device + " (it expired or another node took it)");
}

/// Refuses a step of the operation from a node that no longer holds the
/// lease, and locks the row until the transaction ends.
void require_lease(pqxx::work& txn, const OperationClaim& claim) {
    const auto held = txn.exec_params(R"SQL(
        SELECT 1 FROM devices
        WHERE name = $1 AND lease_owner = $2 AND lease_expires_at > now()
        FOR UPDATE
    )SQL",
                                      claim.device, claim.node);
    if (held.empty())
        throw lease_lost(claim);
}

// Install, fetch and delete all end in one statement made of these
// fragments, so a success costs one round trip and one commit:
//   - `prior` checks and locks the lease (a node that lost it changes
//     nothing: the statement counts no finished row, lease_lost);
//   - `finished` ends the operation, gives up the lease, uses up the auth
//     string the claim matched if it is still the stored one
//     (compare-and-set: an administrator's new string stays), and sets what
//     the operation itself changes (the fragment between the two);
//   - `audited` writes auth_string/used (when it was used) and
//     <event>/succeeded, in that order; `delivered` the outbox row.
// Parameters: $1 device, $2 node, $3 the claim's auth-string hash or '',
// $4 peer, $5 event, $6 detail, $7 delivery change, $8 the claim's auth
// mode (an administrator who changed it during the session gets no success
// under the old one); the operation's own from $9. The operation may add CTEs (each starting with a
// comma) before finish_count.
constexpr Fragment finish_head = R"SQL(
    WITH prior AS (
        SELECT $3::text <> '' AND auth_string_hash = $3::text AS uses_string
        FROM devices
        WHERE name = $1 AND lease_owner = $2 AND lease_expires_at > now() AND auth_mode = $8
        FOR UPDATE
    ), finished AS (
        UPDATE devices d
        SET pending_operation = 'none', scheduled_in_bulk = false,
            operation_status = 'succeeded', operation_reason = '', operation_updated_at = now(),
            lease_owner = NULL, lease_expires_at = NULL, updated_at = now(),
            auth_string_hash = CASE WHEN p.uses_string THEN NULL ELSE d.auth_string_hash END,
            failed_auth_count = CASE WHEN p.uses_string THEN 0 ELSE d.failed_auth_count END,
)SQL";
constexpr Fragment finish_tail = R"SQL(
        FROM prior p
        WHERE d.name = $1 AND d.lease_owner = $2
        RETURNING d.name, p.uses_string
    ), audited AS (
        INSERT INTO audit_events (device, peer, node, event, outcome, detail)
        SELECT name, $4::text, $2::text, 'auth_string', 'used', '' FROM finished WHERE uses_string
        UNION ALL
        SELECT name, $4::text, $2::text, $5::text, 'succeeded', $6::text FROM finished
    ), delivered AS (
        INSERT INTO deliveries (device, change) SELECT name, $7::text FROM finished
    )
)SQL";
constexpr Fragment finish_count = R"SQL(
    SELECT count(*) FROM finished
)SQL";

/// Why a step of the claimed operation changed nothing: conflict when this
/// node still holds the lease but an administrator changed the device's
/// auth mode during the session (`device update`), lease_lost otherwise.
/// Only on that failure path: a success costs no query of its own.
StorageError not_finished(ConnectionPool& pool, const OperationClaim& claim) {
    const auto mode = first_row(
        pool, R"SQL(
            SELECT auth_mode FROM devices
            WHERE name = $1 AND lease_owner = $2 AND lease_expires_at > now()
        )SQL",
        [](const pqxx::row& row) { return row[0].as<std::string>(); }, claim.device, claim.node);
    const std::string claimed(to_text(claim.auth_mode));
    if (mode && *mode != claimed) {
        return StorageError(StorageErrc::conflict, "auth mode of " + claim.device +
                                                       " changed from " + claimed + " to " + *mode +
                                                       " during the session");
    }
    return lease_lost(claim);
}

/// Runs a finishing statement (finish_head, the operation's SET items,
/// finish_tail, its CTEs, finish_count) with the common parameters first;
/// not_finished's error when nothing finished.
template <typename... Own>
void finish_operation(ConnectionPool& pool, const std::string& statement_text,
                      const OperationClaim& claim, const std::string& peer,
                      const std::string& event, const std::string& detail, DeliveryChange change,
                      const Own&... own) {
    const pqxx::result r = one_statement(
        pool, statement_text, claim.device, claim.node, claim.auth_string_hash.value_or(""), peer,
        event, detail, std::string(to_text(change)), std::string(to_text(claim.auth_mode)), own...);
    if (r[0][0].as<long>() == 0)
        throw not_finished(pool, claim);
}

/// The operation failed; it stays pending: the phone will come back and
/// retry until the deadline, as phones do after a failed CAPF session. The
/// auth string is kept for that retry.
void fail_operation(pqxx::work& txn, const OperationClaim& claim, const std::string& reason,
                    const std::string& peer) {
    require_lease(txn, claim);
    txn.exec_params0(R"SQL(
        UPDATE devices
        SET operation_status = 'failed', operation_reason = $2, operation_updated_at = now(),
            lease_owner = NULL, lease_expires_at = NULL, updated_at = now()
        WHERE name = $1
    )SQL",
                     claim.device, reason);
    audit_in(txn, audit_event(claim.device, peer, claim.node, std::string(to_text(claim.operation)),
                              "failed", reason));
}

}  // namespace

void OperationOutcomes::record_certificate_issued(const OperationClaim& claim,
                                                  const IssuedCertificateRecord& c,
                                                  const std::string& peer) {
    // One statement: the lease is checked and locked, the certificate
    // recorded, the event audited; a lost lease records nothing.
    const auto r =
        one_statement(pool_, R"SQL(
            WITH lease AS (
                SELECT name FROM devices
                WHERE name = $2 AND lease_owner = $7 AND lease_expires_at > now()
                    AND auth_mode = $10
                FOR UPDATE
            ), issued AS (
                INSERT INTO issued_certificates (serial, device, der, md5, not_before, not_after,
                                                 node)
                SELECT $1::text, name, $3::bytea, $4::text, to_timestamp($5::float8),
                    to_timestamp($6::float8), $7::text
                FROM lease
                RETURNING device
            )
            INSERT INTO audit_events (device, peer, node, event, outcome, detail)
            SELECT device, $8::text, $7::text, 'install', 'issued', $9::text FROM issued
        )SQL",
                      c.serial_hex, claim.device, blob(c.der), c.md5_hex, epoch_param(c.not_before),
                      epoch_param(c.not_after), claim.node, peer, "serial " + c.serial_hex,
                      std::string(to_text(claim.auth_mode)));
    if (r.affected_rows() == 0)
        throw not_finished(pool_, claim);
}

void OperationOutcomes::record_store_confirmed(const OperationClaim& claim,
                                               const IssuedCertificateRecord& c,
                                               const std::string& peer) {
    // The certificate becomes the device's LSC and confirmed; every other
    // unrevoked one of the device is superseded.
    static const std::string text = statement({finish_head, R"SQL(
            lsc_serial = $9, lsc_der = $10, lsc_not_before = to_timestamp($11::float8),
            lsc_not_after = to_timestamp($12::float8), lsc_public_key = $13, lsc_md5 = $14
    )SQL",
                                               finish_tail, R"SQL(
    , certificates AS (
        UPDATE issued_certificates
        SET confirmed = confirmed OR serial = $9,
            revoked_at = CASE WHEN serial = $9 THEN revoked_at ELSE now() END,
            revoked_reason = CASE WHEN serial = $9 THEN revoked_reason ELSE 'superseded' END
        WHERE device = $1 AND (serial = $9 OR revoked_at IS NULL)
            AND EXISTS (SELECT 1 FROM finished)
    )
    )SQL",
                                               finish_count});
    finish_operation(pool_, text, claim, peer, "install",
                     "serial " + c.serial_hex + " md5 " + c.md5_hex, DeliveryChange::installed,
                     c.serial_hex, blob(c.der), epoch_param(c.not_before), epoch_param(c.not_after),
                     blob(c.public_key_der), c.md5_hex);
}

void OperationOutcomes::record_fetched_certificate(const OperationClaim& claim, const Bytes& der,
                                                   const std::string& md5_hex,
                                                   const Bytes& public_key_der,
                                                   const std::string& peer) {
    static const std::string text = statement({finish_head, R"SQL(
            fetched_der = $9, fetched_md5 = $10, fetched_public_key = $11, fetched_at = now()
    )SQL",
                                               finish_tail, finish_count});
    finish_operation(pool_, text, claim, peer, "fetch", "md5 " + md5_hex, DeliveryChange::fetched,
                     blob(der), md5_hex, blob(public_key_der));
}

void OperationOutcomes::record_delete_confirmed(const OperationClaim& claim,
                                                const std::string& peer) {
    // The phone holds no LSC any more, so a certificate fetched from it
    // earlier no longer describes it either: the TFTP side sees none. Every
    // unrevoked certificate of the device becomes deleted.
    static const std::string text = statement({finish_head, R"SQL(
            lsc_serial = NULL, lsc_der = NULL, lsc_not_before = NULL, lsc_not_after = NULL,
            lsc_public_key = NULL, lsc_md5 = NULL, fetched_der = NULL, fetched_md5 = NULL,
            fetched_public_key = NULL, fetched_at = NULL
    )SQL",
                                               finish_tail, R"SQL(
    , revoked AS (
        UPDATE issued_certificates SET revoked_at = now(), revoked_reason = 'deleted'
        WHERE device = $1 AND revoked_at IS NULL AND EXISTS (SELECT 1 FROM finished)
    )
    )SQL",
                                               finish_count});
    finish_operation(pool_, text, claim, peer, "delete", "", DeliveryChange::deleted);
}

void OperationOutcomes::record_failure(const OperationClaim& claim, const std::string& reason,
                                       const std::string& peer) {
    pool_.transact([&](pqxx::work& txn) { fail_operation(txn, claim, reason, peer); });
}

void OperationOutcomes::record_store_refused(const OperationClaim& claim,
                                             const std::string& serial_hex,
                                             const std::string& reason, const std::string& peer) {
    pool_.transact([&](pqxx::work& txn) {
        fail_operation(txn, claim, reason, peer);
        revoke_in(txn, claim.device, "refused", R"SQL(serial = $2)SQL", serial_hex);
    });
}

}  // namespace capf::storage
