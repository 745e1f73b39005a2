#include "storage/device_repository.hpp"

#include <cmath>
#include <pqxx/pqxx>

#include "storage/device_name.hpp"
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

// The filter as parameters $1..$4 of a fixed WHERE clause.
constexpr const char* filter_clause = R"SQL(
    ($1 = '' OR starts_with(name, $1))
    AND ($2 = '' OR pending_operation = $2)
    AND ($3 = '' OR operation_status = $3)
    AND (NULLIF($4, '') IS NULL OR lsc_not_after < to_timestamp(NULLIF($4, '')::float8))
)SQL";

struct FilterParams {
    std::string prefix, operation, status, expiring;
};

FilterParams params_of(const DeviceFilter& f) {
    FilterParams p;
    if (!f.name_prefix.empty()) {
        // A prefix is a partial name: same characters, canonical case.
        std::string upper;
        for (char c : f.name_prefix)
            upper += (c >= 'a' && c <= 'z') ? static_cast<char>(c - 32) : c;
        p.prefix = upper;
    }
    if (f.operation)
        p.operation = std::string(to_text(*f.operation));
    if (f.status)
        p.status = std::string(to_text(*f.status));
    p.expiring = epoch_param(f.lsc_expiring_before);
    return p;
}

// What a device event says about the device's settings: the same words
// whether one device changed or ten thousand (an expression over the
// devices columns auth_mode and key_spec).
constexpr const char* settings_detail = R"SQL(
    'auth_mode ' || auth_mode || ', key_spec ' || key_spec
        || CASE WHEN require_sudi THEN ', require_sudi' ELSE '' END
)SQL";

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
// $4 peer, $5 event, $6 detail, $7 delivery change; the operation's own
// from $8. The operation may add CTEs (each starting with a comma) before
// finish_count.
constexpr Fragment finish_head = R"SQL(
    WITH prior AS (
        SELECT $3::text <> '' AND auth_string_hash = $3::text AS uses_string
        FROM devices
        WHERE name = $1 AND lease_owner = $2 AND lease_expires_at > now()
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

/// Runs a finishing statement (finish_head, the operation's SET items,
/// finish_tail, its CTEs, finish_count) with the common parameters first;
/// lease_lost when nothing finished.
template <typename... Own>
void finish_operation(pqxx::nontransaction& txn, const std::string& statement_text,
                      const OperationClaim& claim, const std::string& peer,
                      const std::string& event, const std::string& detail, DeliveryChange change,
                      const Own&... own) {
    const pqxx::result r = txn.exec_params(statement_text, claim.device, claim.node,
                                           claim.auth_string_hash.value_or(""), peer, event, detail,
                                           std::string(to_text(change)), own...);
    if (r[0][0].as<long>() == 0)
        throw lease_lost(claim);
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

/// Revokes, with `reason`, the device's unrevoked certificates that `which`
/// (a condition on $2) picks.
void revoke_in(pqxx::work& txn, const std::string& device, const std::string& reason,
               Fragment which, const std::string& serial_hex) {
    txn.exec_params0(statement({R"SQL(
        UPDATE issued_certificates SET revoked_at = now(), revoked_reason = $3
        WHERE device = $1 AND revoked_at IS NULL AND
    )SQL",
                                which}),
                     device, serial_hex, reason);
}

// The lease taken in a claim statement's `claimed` CTE, shared by the
// session lookup and the bound claim: $2 take_own_lease, $3 node, $4 lease
// seconds. Between the two fragments come the FROM and the statement's own
// conditions; claimed_tail re-checks the lease conditions on the newest row
// (so of concurrent claimers one wins) and returns the claim's columns.
constexpr Fragment claimed_head = R"SQL(
    claimed AS (
        UPDATE devices d
        SET lease_owner = $3, lease_expires_at = now() + make_interval(secs => $4),
            operation_status = 'in-progress', operation_updated_at = now()
)SQL";
constexpr Fragment claimed_tail = R"SQL(
            AND d.pending_operation <> 'none' AND NOT d.auth_locked
            AND (d.operation_deadline IS NULL OR d.operation_deadline > now())
            AND (d.lease_owner IS NULL OR d.lease_expires_at <= now()
                 OR ($2 AND d.lease_owner = $3))
        RETURNING d.pending_operation, d.auth_mode, d.key_spec,
            extract(epoch FROM d.lease_expires_at) AS expires
    )
)SQL";

/// The claim in the four columns claimed_tail returns, from `first` on.
OperationClaim claim_of(const pqxx::row& row, pqxx::row::size_type first, const std::string& name,
                        const std::string& node, std::optional<std::string> auth_string_hash) {
    return OperationClaim{name,
                          parse_operation(row[first].as<std::string>()),
                          parse_auth_mode(row[first + 1].as<std::string>()),
                          row[first + 2].as<std::string>(),
                          node,
                          *time_of(row[first + 3]),
                          std::move(auth_string_hash)};
}

/// Takes the device's pending operation: one UPDATE, so concurrent claimers
/// queue on the row lock and re-check the WHERE clause after the winner
/// commits, and exactly one wins.
std::optional<OperationClaim> take_lease(pqxx::work& txn, const std::string& name,
                                         const std::string& node, std::chrono::seconds lease,
                                         bool take_own_lease) {
    const auto r = txn.exec_params(R"SQL(
        UPDATE devices
        SET lease_owner = $2, lease_expires_at = now() + make_interval(secs => $3),
            operation_status = 'in-progress', operation_updated_at = now()
        WHERE name = $1 AND pending_operation <> 'none' AND NOT auth_locked
            AND (operation_deadline IS NULL OR operation_deadline > now())
            AND (lease_owner IS NULL OR lease_expires_at <= now() OR ($4 AND lease_owner = $2))
        RETURNING pending_operation, auth_mode, key_spec, extract(epoch FROM lease_expires_at)
    )SQL",
                                   name, node, static_cast<double>(lease.count()), take_own_lease);
    if (r.empty())
        return std::nullopt;
    return OperationClaim{name,
                          parse_operation(r[0][0].as<std::string>()),
                          parse_auth_mode(r[0][1].as<std::string>()),
                          r[0][2].as<std::string>(),
                          node,
                          *time_of(r[0][3]),
                          std::nullopt};
}

/// What changed since the session authenticated, in words for the audit,
/// or empty. `r` holds pending_operation, auth_mode, auth_string_hash.
std::string binding_change(const pqxx::row& r, const ClaimExpectation& expected) {
    std::string changed;
    const auto add = [&](const std::string& what) {
        changed += (changed.empty() ? "" : "; ") + what;
    };
    const auto mode = r[1].as<std::string>();
    if (mode != to_text(expected.auth_mode)) {
        add("auth mode is now " + mode + ", authenticated as " +
            std::string(to_text(expected.auth_mode)));
    }
    const auto operation = r[0].as<std::string>();
    if (operation != to_text(expected.operation)) {
        add("operation is now " + operation + ", authenticated for " +
            std::string(to_text(expected.operation)));
    }
    if (expected.auth_string_hash) {
        if (r[2].is_null())
            add("the auth string was removed");
        else if (r[2].as<std::string>() != *expected.auth_string_hash)
            add("a new auth string was set");
    }
    return changed;
}

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

CertificateStanding standing_in(pqxx::work& txn, const std::string& device,
                                const std::string& serial) {
    const auto r = txn.exec_params(R"SQL(
        SELECT COALESCE((SELECT lsc_serial = $2 FROM devices WHERE name = $1), false),
            c.serial IS NOT NULL, COALESCE(c.confirmed, false), c.revoked_reason
        FROM (VALUES (1)) AS one
        LEFT JOIN issued_certificates c ON c.device = $1 AND c.serial = $2
    )SQL",
                                   device, serial);
    return standing_of(r[0][3], r[0][0].as<bool>(), r[0][1].as<bool>(), r[0][2].as<bool>());
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

void require_found(const pqxx::result& r, const std::string& name) {
    if (r.affected_rows() == 0) {
        throw StorageError(StorageErrc::not_found, "no device named " + name);
    }
}

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

}  // namespace

std::string checked_device_name(const std::string& name) {
    auto canonical = canonical_device_name(name);
    if (!canonical) {
        throw StorageError(
            StorageErrc::invalid_device_name,
            "device name '" + name + "' must be 1-64 characters of A-Z a-z 0-9 . _ -");
    }
    return *canonical;
}

DeviceRecord DeviceRepository::add_device(const DeviceSettings& s, const std::string& actor) {
    const std::string name = checked_device_name(s.name);
    const std::string mode(to_text(s.auth_mode));
    const std::string& spec = s.key_spec;
    DeviceRecord out;
    pool_.transact([&](pqxx::work& txn) {
        const auto r = txn.exec_params(statement({R"SQL(
            INSERT INTO devices (name, description, auth_mode, key_spec, require_sudi)
            VALUES ($1, $2, $3, $4, $5)
            ON CONFLICT (name) DO NOTHING
            RETURNING
        )SQL",
                                                  device_columns}),
                                       name, s.description, mode, spec, s.require_sudi);
        if (r.empty()) {
            throw StorageError(StorageErrc::already_exists,
                               "a device named " + name + " already exists");
        }
        out = device_of(r[0]);
        audit_device_settings(txn, name, "added", actor);
    });
    return out;
}

std::size_t DeviceRepository::add_devices(const std::vector<DeviceSettings>& devices,
                                          const std::string& actor) {
    std::vector<std::string> names, descriptions, modes, specs, sudi;
    for (const auto& d : devices) {
        names.push_back(checked_device_name(d.name));
        descriptions.push_back(d.description);
        modes.emplace_back(to_text(d.auth_mode));
        specs.push_back(d.key_spec);
        sudi.emplace_back(d.require_sudi ? "true" : "false");
    }
    std::size_t added = 0;
    pool_.transact([&](pqxx::work& txn) {
        // One statement for any number of devices: the audit rows are made
        // from what the INSERT returns, so only devices really added appear.
        const auto r =
            txn.exec_params(statement({R"SQL(
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
                            array_literal(specs), actor, array_literal(sudi));
        added = r.affected_rows();
    });
    return added;
}

DeviceRecord DeviceRepository::update_device(const DeviceSettings& s, const std::string& actor) {
    const std::string name = checked_device_name(s.name);
    const std::string mode(to_text(s.auth_mode));
    const std::string& spec = s.key_spec;
    DeviceRecord out;
    pool_.transact([&](pqxx::work& txn) {
        const auto r = txn.exec_params(statement({R"SQL(
            UPDATE devices
            SET description = $2, auth_mode = $3, key_spec = $4, require_sudi = $5,
                updated_at = now()
            WHERE name = $1
            RETURNING
        )SQL",
                                                  device_columns}),
                                       name, s.description, mode, spec, s.require_sudi);
        require_found(r, name);
        out = device_of(r[0]);
        audit_device_settings(txn, name, "updated", actor);
    });
    return out;
}

void DeviceRepository::remove_device(const std::string& raw_name, const std::string& actor) {
    const std::string name = checked_device_name(raw_name);
    pool_.transact([&](pqxx::work& txn) {
        require_found(txn.exec_params(R"SQL(DELETE FROM devices WHERE name = $1)SQL", name), name);
        audit_in(txn, audit_event(name, actor, "", "device", "removed", ""));
    });
}

std::optional<DeviceRecord> DeviceRepository::find_device(const std::string& raw_name) {
    const std::string name = checked_device_name(raw_name);
    std::optional<DeviceRecord> out;
    pool_.autocommit([&](pqxx::nontransaction& txn) {
        const auto r = txn.exec_params(statement({R"SQL(SELECT)SQL", device_columns, R"SQL(
            FROM devices WHERE name = $1
        )SQL"}),
                                       name);
        if (!r.empty())
            out = device_of(r[0]);
    });
    return out;
}

std::optional<SessionDevice> DeviceRepository::find_session_device(const std::string& raw_name) {
    const std::string name = checked_device_name(raw_name);
    std::optional<SessionDevice> out;
    pool_.autocommit([&](pqxx::nontransaction& txn) {
        const auto r = txn.exec_params(R"SQL(
            SELECT name, pending_operation, auth_mode, key_spec,
                operation_deadline IS NOT NULL AND operation_deadline <= now(), require_sudi
            FROM devices WHERE name = $1
        )SQL",
                                       name);
        if (r.empty())
            return;
        out = SessionDevice{r[0][0].as<std::string>(),
                            parse_operation(r[0][1].as<std::string>()),
                            parse_auth_mode(r[0][2].as<std::string>()),
                            r[0][3].as<std::string>(),
                            r[0][4].as<bool>(),
                            r[0][5].as<bool>()};
    });
    return out;
}

DeviceRepository::SessionLookup DeviceRepository::find_session_device_and_claim(
    const std::string& raw_name, const std::string& node, std::chrono::seconds lease,
    const AuditEvent& authenticated, bool may_claim, bool take_own_lease) {
    const std::string name = checked_device_name(raw_name);
    if (node.empty()) {
        throw StorageError(StorageErrc::invalid_value, "node name must not be empty");
    }
    SessionLookup out;
    bool open = false;
    pool_.autocommit([&](pqxx::nontransaction& txn) {
        // `device` is the lookup; `open` the device when the null string
        // leaves nothing to check before its claim; `claimed` takes the
        // lease as take_lease does (its WHERE re-checked on the newest row,
        // so of two claimers one wins); `audited` the authentication.
        static const std::string text = statement({R"SQL(
            WITH device AS (
                SELECT name, pending_operation, auth_mode, key_spec,
                    operation_deadline IS NOT NULL AND operation_deadline <= now()
                        AS deadline_passed,
                    require_sudi,
                    lease_owner IS NOT NULL AND lease_expires_at > now()
                        AND NOT ($2 AND lease_owner = $3) AS held
                FROM devices WHERE name = $1
            ), open AS (
                SELECT name FROM device
                WHERE auth_mode = 'null-string' AND pending_operation <> 'none'
                    AND NOT deadline_passed
            ),
        )SQL",
                                                   claimed_head, R"SQL(
                FROM open o
                WHERE d.name = o.name AND $5 AND d.auth_mode = 'null-string'
        )SQL",
                                                   claimed_tail, R"SQL(
            , audited AS (
                INSERT INTO audit_events (device, peer, node, event, outcome, detail)
                SELECT name, $6::text, $7::text, $8::text, $9::text, $10::text FROM open
            )
            SELECT d.name, d.pending_operation, d.auth_mode, d.key_spec, d.deadline_passed,
                d.require_sudi, d.held, EXISTS (SELECT 1 FROM open),
                c.pending_operation, c.auth_mode, c.key_spec, c.expires
            FROM device d LEFT JOIN claimed c ON true
        )SQL"});
        const auto r =
            txn.exec_params(text, name, take_own_lease, node, static_cast<double>(lease.count()),
                            may_claim, authenticated.peer, authenticated.node, authenticated.event,
                            authenticated.outcome, authenticated.detail);
        if (r.empty())
            return;
        const auto row = r[0];
        out.device = SessionDevice{row[0].as<std::string>(),
                                   parse_operation(row[1].as<std::string>()),
                                   parse_auth_mode(row[2].as<std::string>()),
                                   row[3].as<std::string>(),
                                   row[4].as<bool>(),
                                   row[5].as<bool>()};
        open = row[7].as<bool>();
        if (!open)
            return;  // not open: the session goes on to authenticate and claim
        if (!row[8].is_null()) {
            ClaimOutcome claim;
            claim.status = ClaimOutcome::Status::claimed;
            claim.claim = claim_of(row, 8, name, node, std::nullopt);
            out.claim = std::move(claim);
        } else if (!may_claim) {
            out.claim = ClaimOutcome{ClaimOutcome::Status::held_elsewhere, std::nullopt, {}};
        }
    });
    if (open && !out.claim) {
        // Open by the statement's snapshot, yet not claimed: something changed
        // meanwhile (another session claimed it, an administrator changed the
        // mode or the operation, a lock). The claim that reads the newest row
        // under its lock says which, and claims if it still can.
        const ClaimExpectation expected{out.device->pending_operation, AuthMode::null_string,
                                        std::nullopt, std::nullopt};
        out.claim = claim_pending_operation(name, node, lease, expected, take_own_lease);
    }
    return out;
}

Page DeviceRepository::list_devices(const DeviceFilter& filter, const std::string& after,
                                    std::size_t limit) {
    const auto p = params_of(filter);
    Page page;
    pool_.transact([&](pqxx::work& txn) {
        const auto r = txn.exec_params(
            statement({R"SQL(SELECT)SQL", device_columns, R"SQL(FROM devices WHERE)SQL",
                       filter_clause, R"SQL(
                AND name > $5
                ORDER BY name
                LIMIT $6
            )SQL"}),
            p.prefix, p.operation, p.status, p.expiring, after, static_cast<long long>(limit));
        for (const auto& row : r)
            page.devices.push_back(device_of(row));
    });
    if (page.devices.size() == limit && limit > 0) {
        page.next_after = page.devices.back().name;
    }
    return page;
}

// Scheduling never touches the auth-string failure count or lock: only a
// new string (set_auth_string_hashes) ends a lockout, so scheduling again
// cannot be used to get more guesses.
void DeviceRepository::schedule_operation(const std::string& raw_name, const ScheduleRequest& req,
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

std::size_t DeviceRepository::schedule_bulk(const DeviceFilter& filter, const ScheduleRequest& req,
                                            bool override_device_level, const std::string& actor) {
    const auto p = params_of(filter);
    const std::string mode = req.auth_mode ? std::string(to_text(*req.auth_mode)) : "";
    const std::string spec = req.key_spec.value_or("");
    std::size_t count = 0;
    pool_.transact([&](pqxx::work& txn) {
        // Device-level wins (as on IOS): a device's own pending operation is
        // kept unless the administrator says to override it. One statement
        // however many devices: each scheduled device gets its audit row
        // from what the UPDATE returns.
        const auto r = txn.exec_params(statement({R"SQL(
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
                                       std::string(to_text(req.operation)), mode, spec,
                                       epoch_param(req.deadline), override_device_level, actor);
        count = r.affected_rows();
    });
    return count;
}

void DeviceRepository::cancel_operation(const std::string& raw_name, const std::string& actor) {
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

std::size_t DeviceRepository::expire_overdue_operations() {
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

void DeviceRepository::set_auth_string_hash(const std::string& name, const std::string& hash,
                                            const std::string& actor) {
    set_auth_string_hashes({{name, hash}}, actor);
}

void DeviceRepository::set_auth_string_hashes(
    const std::vector<std::pair<std::string, std::string>>& hashes, const std::string& actor) {
    std::vector<std::string> names, values;
    for (const auto& [raw_name, hash] : hashes) {
        if (hash.empty()) {
            throw StorageError(StorageErrc::invalid_value, "auth string hash must not be empty");
        }
        names.push_back(checked_device_name(raw_name));
        values.push_back(hash);
    }
    if (names.empty())
        return;
    pool_.transact([&](pqxx::work& txn) {
        // One statement: set the hashes and audit each device set (never
        // the hash). It returns only how many it set: naming the missing
        // device by an anti-join of the given names with the updated ones
        // was planned as a nested loop over the two CTEs (50 million
        // comparisons, 5 s, for 10,000 devices).
        const auto names_param = array_literal(names);
        const auto set = txn.exec_params1(R"SQL(
            WITH given AS (SELECT * FROM unnest($1::text[], $2::text[]) AS g(name, hash)),
            updated AS (
                UPDATE devices d
                SET auth_string_hash = given.hash, failed_auth_count = 0, auth_locked = false,
                    updated_at = now()
                FROM given
                WHERE d.name = given.name
                RETURNING d.name),
            audited AS (
                INSERT INTO audit_events (device, peer, event, outcome)
                SELECT name, $3, 'auth_string', 'set' FROM updated)
            SELECT count(*) FROM updated
        )SQL",
                                          names_param, array_literal(values), actor);
        if (set[0].as<std::size_t>() == names.size())
            return;
        // Fewer set than given: a device does not exist (naming it rolls
        // everything back), or a name was given twice (not an error).
        const auto missing = txn.exec_params(R"SQL(
            SELECT g.name FROM unnest($1::text[]) AS g(name)
            WHERE NOT EXISTS (SELECT 1 FROM devices d WHERE d.name = g.name)
            LIMIT 1
        )SQL",
                                             names_param);
        if (!missing.empty()) {
            throw StorageError(StorageErrc::not_found,
                               "no device named " + missing[0][0].as<std::string>());
        }
    });
}

void DeviceRepository::clear_auth_string(const std::string& raw_name, const std::string& actor) {
    const std::string name = checked_device_name(raw_name);
    pool_.transact([&](pqxx::work& txn) {
        require_found(txn.exec_params(R"SQL(
                UPDATE devices SET auth_string_hash = NULL, updated_at = now() WHERE name = $1
            )SQL",
                                      name),
                      name);
        audit_in(txn, audit_event(name, actor, "", "auth_string", "deleted", ""));
    });
}

std::optional<std::string> DeviceRepository::auth_string_hash(const std::string& raw_name) {
    const std::string name = checked_device_name(raw_name);
    std::optional<std::string> out;
    pool_.transact([&](pqxx::work& txn) {
        const auto r = txn.exec_params(R"SQL(
            SELECT auth_string_hash FROM devices WHERE name = $1
        )SQL",
                                       name);
        if (!r.empty() && !r[0][0].is_null())
            out = r[0][0].as<std::string>();
    });
    return out;
}

AuthStringAttempt DeviceRepository::begin_auth_string_attempt(const std::string& raw_name,
                                                              int lockout_after) {
    const std::string name = checked_device_name(raw_name);
    AuthStringAttempt out;
    pool_.transact([&](pqxx::work& txn) {
        const auto counted = txn.exec_params(R"SQL(
            UPDATE devices
            SET failed_auth_count = failed_auth_count + 1,
                auth_locked = failed_auth_count + 1 >= $2, updated_at = now()
            WHERE name = $1 AND auth_string_hash IS NOT NULL AND NOT auth_locked
            RETURNING auth_string_hash, auth_locked
        )SQL",
                                             name, lockout_after);
        if (!counted.empty()) {
            out = {AuthStringAttempt::Status::compare, counted[0][0].as<std::string>(),
                   counted[0][1].as<bool>()};
            return;
        }
        // Nothing counted; only say why.
        const auto state = txn.exec_params(R"SQL(
            SELECT auth_locked FROM devices WHERE name = $1
        )SQL",
                                           name);
        const bool locked = !state.empty() && state[0][0].as<bool>();
        out.status =
            locked ? AuthStringAttempt::Status::locked_out : AuthStringAttempt::Status::none_set;
    });
    return out;
}

bool DeviceRepository::consume_auth_string(const std::string& raw_name, const std::string& hash) {
    const std::string name = checked_device_name(raw_name);
    bool consumed = false;
    pool_.transact([&](pqxx::work& txn) {
        consumed = !txn.exec_params(R"SQL(
            UPDATE devices
            SET auth_string_hash = NULL, failed_auth_count = 0, auth_locked = false,
                updated_at = now()
            WHERE name = $1 AND auth_string_hash = $2
            RETURNING name
        )SQL",
                                    name, hash)
                        .empty();
    });
    return consumed;
}

bool DeviceRepository::acknowledge_auth_string_match(const std::string& raw_name,
                                                     const std::string& hash, bool undo_own_lock) {
    const std::string name = checked_device_name(raw_name);
    bool still_set = false;
    pool_.transact([&](pqxx::work& txn) {
        // A lock set by other attempts stays until an administrator unlocks
        // or sets a new string; one set by this (matching) attempt, counted
        // before its comparison, was never a failure.
        still_set = !txn.exec_params(R"SQL(
            UPDATE devices SET failed_auth_count = 0,
                auth_locked = CASE WHEN $3 THEN false ELSE auth_locked END, updated_at = now()
            WHERE name = $1 AND auth_string_hash = $2
            RETURNING name
        )SQL",
                                     name, hash, undo_own_lock)
                         .empty();
    });
    return still_set;
}

void DeviceRepository::unlock_auth_string(const std::string& raw_name, const std::string& actor) {
    const std::string name = checked_device_name(raw_name);
    pool_.transact([&](pqxx::work& txn) {
        require_found(txn.exec_params(R"SQL(
                UPDATE devices SET failed_auth_count = 0, auth_locked = false, updated_at = now()
                WHERE name = $1
            )SQL",
                                      name),
                      name);
        audit_in(txn, audit_event(name, actor, "", "auth_string", "unlocked", ""));
    });
}

std::vector<std::string> DeviceRepository::devices_with_auth_string(
    const std::string& name_prefix) {
    DeviceFilter f;
    f.name_prefix = name_prefix;
    const auto p = params_of(f);
    std::vector<std::string> out;
    pool_.transact([&](pqxx::work& txn) {
        const auto r = txn.exec_params(R"SQL(
            SELECT name FROM devices
            WHERE auth_string_hash IS NOT NULL AND ($1 = '' OR starts_with(name, $1))
            ORDER BY name
        )SQL",
                                       p.prefix);
        for (const auto& row : r)
            out.push_back(row[0].as<std::string>());
    });
    return out;
}

std::optional<OperationClaim> DeviceRepository::claim_pending_operation(const std::string& raw_name,
                                                                        const std::string& node,
                                                                        std::chrono::seconds lease,
                                                                        bool take_own_lease) {
    const std::string name = checked_device_name(raw_name);
    if (node.empty()) {
        throw StorageError(StorageErrc::invalid_value, "node name must not be empty");
    }
    std::optional<OperationClaim> claim;
    pool_.transact(
        [&](pqxx::work& txn) { claim = take_lease(txn, name, node, lease, take_own_lease); });
    return claim;
}

ClaimOutcome DeviceRepository::claim_pending_operation(const std::string& raw_name,
                                                       const std::string& node,
                                                       std::chrono::seconds lease,
                                                       const ClaimExpectation& expected,
                                                       bool take_own_lease) {
    const std::string name = checked_device_name(raw_name);
    if (node.empty()) {
        throw StorageError(StorageErrc::invalid_value, "node name must not be empty");
    }
    const AuditEvent* audit = expected.audit ? &*expected.audit : nullptr;
    ClaimOutcome out;
    pool_.autocommit([&](pqxx::nontransaction& txn) {
        // One statement. `current` reads the device under the row lock, so
        // no change slips in between the checks and the lease; `claimed`
        // takes the lease only if nothing the session authenticated against
        // changed (re-checking the lease conditions on the newest row), and
        // `audited` writes the authentication that led here.
        static const std::string text = statement({R"SQL(
            WITH current AS (
                SELECT pending_operation, auth_mode, auth_string_hash,
                    pending_operation <> 'none' AND NOT auth_locked
                        AND (operation_deadline IS NULL OR operation_deadline > now())
                        AS claimable,
                    lease_owner IS NOT NULL AND lease_expires_at > now()
                        AND NOT ($2 AND lease_owner = $3) AS held
                FROM devices WHERE name = $1
                FOR UPDATE
            ),
        )SQL",
                                                   claimed_head, R"SQL(
                FROM current c
                WHERE d.name = $1 AND c.claimable AND NOT c.held
                    AND c.pending_operation = $5 AND c.auth_mode = $6
                    AND ($7 = '' OR c.auth_string_hash = $7)
        )SQL",
                                                   claimed_tail, R"SQL(
            , audited AS (
                INSERT INTO audit_events (device, peer, node, event, outcome, detail)
                SELECT $1::text, $9::text, $10::text, $11::text, $12::text, $13::text WHERE $8
            )
            SELECT c.pending_operation, c.auth_mode, c.auth_string_hash, c.claimable, c.held,
                k.pending_operation, k.auth_mode, k.key_spec, k.expires
            FROM current c LEFT JOIN claimed k ON true
        )SQL"});
        const auto r = txn.exec_params(
            text, name, take_own_lease, node, static_cast<double>(lease.count()),
            std::string(to_text(expected.operation)), std::string(to_text(expected.auth_mode)),
            expected.auth_string_hash.value_or(""), audit != nullptr, audit ? audit->peer : "",
            audit ? audit->node : "", audit ? audit->event : "", audit ? audit->outcome : "",
            audit ? audit->detail : "");
        if (r.empty())
            return;  // nothing_pending: the device is gone
        out.detail = binding_change(r[0], expected);
        if (!out.detail.empty()) {
            out.status = ClaimOutcome::Status::operation_changed;
        } else if (!r[0][3].as<bool>()) {
            out.status = ClaimOutcome::Status::nothing_pending;
        } else if (r[0][4].as<bool>()) {
            out.status = ClaimOutcome::Status::held_elsewhere;
        } else if (!r[0][5].is_null()) {
            out.claim = claim_of(r[0], 5, name, node, expected.auth_string_hash);
            out.status = ClaimOutcome::Status::claimed;
        }
    });
    return out;
}

void DeviceRepository::record_certificate_issued(const OperationClaim& claim,
                                                 const IssuedCertificateRecord& c,
                                                 const std::string& peer) {
    pool_.autocommit([&](pqxx::nontransaction& txn) {
        // One statement: the lease is checked and locked, the certificate
        // recorded, the event audited; a lost lease records nothing.
        const auto r = txn.exec_params(R"SQL(
            WITH lease AS (
                SELECT name FROM devices
                WHERE name = $2 AND lease_owner = $7 AND lease_expires_at > now()
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
                                       c.serial_hex, claim.device, blob(c.der), c.md5_hex,
                                       epoch_param(c.not_before), epoch_param(c.not_after),
                                       claim.node, peer, "serial " + c.serial_hex);
        if (r.affected_rows() == 0)
            throw lease_lost(claim);
    });
}

void DeviceRepository::record_store_confirmed(const OperationClaim& claim,
                                              const IssuedCertificateRecord& c,
                                              const std::string& peer) {
    // The certificate becomes the device's LSC and confirmed; every other
    // unrevoked one of the device is superseded.
    static const std::string text = statement({finish_head, R"SQL(
            lsc_serial = $8, lsc_der = $9, lsc_not_before = to_timestamp($10::float8),
            lsc_not_after = to_timestamp($11::float8), lsc_public_key = $12, lsc_md5 = $13
    )SQL",
                                               finish_tail, R"SQL(
    , certificates AS (
        UPDATE issued_certificates
        SET confirmed = confirmed OR serial = $8,
            revoked_at = CASE WHEN serial = $8 THEN revoked_at ELSE now() END,
            revoked_reason = CASE WHEN serial = $8 THEN revoked_reason ELSE 'superseded' END
        WHERE device = $1 AND (serial = $8 OR revoked_at IS NULL)
            AND EXISTS (SELECT 1 FROM finished)
    )
    )SQL",
                                               finish_count});
    pool_.autocommit([&](pqxx::nontransaction& txn) {
        finish_operation(txn, text, claim, peer, "install",
                         "serial " + c.serial_hex + " md5 " + c.md5_hex, DeliveryChange::installed,
                         c.serial_hex, blob(c.der), epoch_param(c.not_before),
                         epoch_param(c.not_after), blob(c.public_key_der), c.md5_hex);
    });
}

void DeviceRepository::record_fetched_certificate(const OperationClaim& claim, const Bytes& der,
                                                  const std::string& md5_hex,
                                                  const Bytes& public_key_der,
                                                  const std::string& peer) {
    static const std::string text = statement({finish_head, R"SQL(
            fetched_der = $8, fetched_md5 = $9, fetched_public_key = $10, fetched_at = now()
    )SQL",
                                               finish_tail, finish_count});
    pool_.autocommit([&](pqxx::nontransaction& txn) {
        finish_operation(txn, text, claim, peer, "fetch", "md5 " + md5_hex, DeliveryChange::fetched,
                         blob(der), md5_hex, blob(public_key_der));
    });
}

void DeviceRepository::record_delete_confirmed(const OperationClaim& claim,
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
    pool_.autocommit([&](pqxx::nontransaction& txn) {
        finish_operation(txn, text, claim, peer, "delete", "", DeliveryChange::deleted);
    });
}

void DeviceRepository::record_failure(const OperationClaim& claim, const std::string& reason,
                                      const std::string& peer) {
    pool_.transact([&](pqxx::work& txn) { fail_operation(txn, claim, reason, peer); });
}

void DeviceRepository::record_store_refused(const OperationClaim& claim,
                                            const std::string& serial_hex,
                                            const std::string& reason, const std::string& peer) {
    pool_.transact([&](pqxx::work& txn) {
        fail_operation(txn, claim, reason, peer);
        revoke_in(txn, claim.device, "refused", R"SQL(serial = $2)SQL", serial_hex);
    });
}

void DeviceRepository::append_audit(const AuditEvent& event) {
    if (event.event.empty() || event.outcome.empty()) {
        throw StorageError(StorageErrc::invalid_value,
                           "an audit event needs an event and an outcome");
    }
    pool_.transact([&](pqxx::work& txn) { audit_in(txn, event); });
}

void DeviceRepository::append_rate_limited_audit(const AuditEvent& event) {
    if (event.event.empty() || event.outcome.empty()) {
        throw StorageError(StorageErrc::invalid_value,
                           "an audit event needs an event and an outcome");
    }
    pool_.transact([&](pqxx::work& txn) {
        // The first event of a minute inserts its row; the rest of that
        // minute only count on it, so a flood is bounded to one row per
        // source, cause and minute.
        txn.exec_params0(R"SQL(
            INSERT INTO audit_events (device, peer, node, event, outcome, detail, rate_window)
            VALUES ($1, $2, $3, $4, $5, $6, date_trunc('minute', now()))
            ON CONFLICT (peer, event, outcome, detail, rate_window) WHERE rate_window IS NOT NULL
            DO UPDATE SET repeat_count = audit_events.repeat_count + 1
        )SQL",
                         event.device, event.peer, event.node, event.event, event.outcome,
                         event.detail);
    });
}

std::vector<AuditEvent> DeviceRepository::audit_events(const AuditQuery& q) {
    std::vector<AuditEvent> out;
    const std::string device = q.device.empty() ? "" : checked_device_name(q.device);
    pool_.transact([&](pqxx::work& txn) {
        const auto r =
            txn.exec_params(R"SQL(
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
    });
    return out;
}

std::vector<ReportRow> DeviceRepository::report(const DeviceFilter& filter) {
    const auto p = params_of(filter);
    std::vector<ReportRow> out;
    pool_.transact([&](pqxx::work& txn) {
        const auto r = txn.exec_params(statement({R"SQL(
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
    });
    return out;
}

FleetStats DeviceRepository::fleet_stats() {
    FleetStats out;
    pool_.transact([&](pqxx::work& txn) {
        const auto r = txn.exec(R"SQL(
            SELECT count(*), count(lsc_serial),
                count(*) FILTER (WHERE pending_operation = 'install'),
                count(*) FILTER (WHERE pending_operation = 'fetch'),
                count(*) FILTER (WHERE pending_operation = 'delete'),
                count(auth_string_hash), count(*) FILTER (WHERE auth_locked),
                count(*) FILTER (WHERE lease_expires_at > now())
            FROM devices
        )SQL");
        const auto row = r.at(0);
        out =
            FleetStats{row[0].as<std::size_t>(), row[1].as<std::size_t>(), row[2].as<std::size_t>(),
                       row[3].as<std::size_t>(), row[4].as<std::size_t>(), row[5].as<std::size_t>(),
                       row[6].as<std::size_t>(), row[7].as<std::size_t>()};
    });
    return out;
}

std::vector<AuditCount> DeviceRepository::audit_counts(TimePoint since) {
    std::vector<AuditCount> out;
    pool_.transact([&](pqxx::work& txn) {
        const auto r = txn.exec_params(R"SQL(
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
    });
    return out;
}

std::vector<std::pair<std::string, bool>> DeviceRepository::issued_certificates(
    const std::string& raw_name) {
    const std::string name = checked_device_name(raw_name);
    std::vector<std::pair<std::string, bool>> out;
    pool_.transact([&](pqxx::work& txn) {
        const auto r = txn.exec_params(R"SQL(
            SELECT serial, confirmed FROM issued_certificates
            WHERE device = $1
            ORDER BY issued_at DESC, serial
        )SQL",
                                       name);
        for (const auto& row : r)
            out.emplace_back(row[0].as<std::string>(), row[1].as<bool>());
    });
    return out;
}

CertificateStanding DeviceRepository::certificate_standing(const std::string& raw_device,
                                                           const std::string& serial_hex) {
    const std::string device = checked_device_name(raw_device);
    const std::string serial = serial_param(serial_hex);
    CertificateStanding out = CertificateStanding::not_issued;
    pool_.transact([&](pqxx::work& txn) { out = standing_in(txn, device, serial); });
    return out;
}

PresentedConfirmation DeviceRepository::confirm_presented_certificate(const std::string& raw_device,
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

void DeviceRepository::revoke_certificate(const std::string& serial_hex, const std::string& actor) {
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
            UPDATE issued_certificates SET revoked_at = now(), revoked_reason = 'revoked'
            WHERE serial = $1
        )SQL",
                         serial);
        audit_in(txn, audit_event(r[0][0].as<std::string>(), actor, "", "certificate", "revoked",
                                  "serial " + serial));
    });
}

std::vector<IssuedCertificateInfo> DeviceRepository::list_certificates(
    const std::string& raw_device) {
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

}  // namespace capf::storage
