#include "storage/operation_claims.hpp"

#include <pqxx/pqxx>

#include "storage/connection_pool.hpp"
#include "storage/device_name.hpp"
#include "storage/device_rows.hpp"
#include "storage/error.hpp"
#include "storage/sql_support.hpp"

namespace capf::storage {
namespace {

using namespace sql;

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

/// The lookup's columns of the device, from the first: name, pending
/// operation, auth mode, key spec, deadline passed, require_sudi.
SessionDevice session_device_of(const pqxx::row& r) {
    return SessionDevice{r[0].as<std::string>(),
                         parse_operation(r[1].as<std::string>()),
                         parse_auth_mode(r[2].as<std::string>()),
                         r[3].as<std::string>(),
                         r[4].as<bool>(),
                         r[5].as<bool>()};
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

/// The bound claim's outcome from its statement's row: what `current`
/// read (pending_operation, auth_mode, auth_string_hash, claimable, held)
/// and, when it was taken, the claim's columns from the sixth on.
ClaimOutcome bound_claim_of(const pqxx::row& r, const std::string& name, const std::string& node,
                            const ClaimExpectation& expected) {
    ClaimOutcome out;
    out.detail = binding_change(r, expected);
    if (!out.detail.empty()) {
        out.status = ClaimOutcome::Status::operation_changed;
    } else if (!r[3].as<bool>()) {
        out.status = ClaimOutcome::Status::nothing_pending;
    } else if (r[4].as<bool>()) {
        out.status = ClaimOutcome::Status::held_elsewhere;
    } else if (!r[5].is_null()) {
        out.claim = claim_of(r, 5, name, node, expected.auth_string_hash);
        out.status = ClaimOutcome::Status::claimed;
    }
    return out;
}

}  // namespace

std::optional<SessionDevice> OperationClaims::find_session_device(const std::string& raw_name) {
    const std::string name = checked_device_name(raw_name);
    return first_row(pool_, R"SQL(
            SELECT name, pending_operation, auth_mode, key_spec,
                operation_deadline IS NOT NULL AND operation_deadline <= now(), require_sudi
            FROM devices WHERE name = $1
        )SQL",
                     session_device_of, name);
}

OperationClaims::SessionLookup OperationClaims::find_session_device_and_claim(
    const std::string& raw_name, const std::string& node, std::chrono::seconds lease,
    const AuditEvent& authenticated, bool may_claim, bool take_own_lease) {
    const std::string name = checked_device_name(raw_name);
    if (node.empty()) {
        throw StorageError(StorageErrc::invalid_value, "node name must not be empty");
    }
    // `device` is the lookup; `open` the device when the null string
    // leaves nothing to check before its claim; `claimed` takes the
    // lease as claim_pending_operation does (its WHERE re-checked on the
    // newest row, so of two claimers one wins); `audited` the authentication.
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
    bool open = false;
    const auto lookup_of = [&](const pqxx::row& row) {
        SessionLookup found{session_device_of(row), std::nullopt};
        open = row[7].as<bool>();
        if (!open)
            return found;  // not open: the session goes on to authenticate and claim
        if (!row[8].is_null()) {
            found.claim = ClaimOutcome{
                ClaimOutcome::Status::claimed, claim_of(row, 8, name, node, std::nullopt), {}};
        } else if (!may_claim) {
            found.claim = ClaimOutcome{ClaimOutcome::Status::held_elsewhere, std::nullopt, {}};
        }
        return found;
    };
    SessionLookup out = first_row(pool_, text, lookup_of, name, take_own_lease, node,
                                  static_cast<double>(lease.count()), may_claim, authenticated.peer,
                                  authenticated.node, authenticated.event, authenticated.outcome,
                                  authenticated.detail)
                            .value_or(SessionLookup{});
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

std::optional<OperationClaim> OperationClaims::claim_pending_operation(const std::string& raw_name,
                                                                       const std::string& node,
                                                                       std::chrono::seconds lease,
                                                                       bool take_own_lease) {
    const std::string name = checked_device_name(raw_name);
    if (node.empty()) {
        throw StorageError(StorageErrc::invalid_value, "node name must not be empty");
    }
    // One UPDATE, so concurrent claimers queue on the row lock and re-check
    // the WHERE clause after the winner commits, and exactly one wins.
    return first_row(
        pool_, R"SQL(
        UPDATE devices
        SET lease_owner = $2, lease_expires_at = now() + make_interval(secs => $3),
            operation_status = 'in-progress', operation_updated_at = now()
        WHERE name = $1 AND pending_operation <> 'none' AND NOT auth_locked
            AND (operation_deadline IS NULL OR operation_deadline > now())
            AND (lease_owner IS NULL OR lease_expires_at <= now() OR ($4 AND lease_owner = $2))
        RETURNING pending_operation, auth_mode, key_spec, extract(epoch FROM lease_expires_at)
    )SQL",
        [&](const pqxx::row& r) { return claim_of(r, 0, name, node, std::nullopt); }, name, node,
        static_cast<double>(lease.count()), take_own_lease);
}

ClaimOutcome OperationClaims::claim_pending_operation(const std::string& raw_name,
                                                      const std::string& node,
                                                      std::chrono::seconds lease,
                                                      const ClaimExpectation& expected,
                                                      bool take_own_lease) {
    const std::string name = checked_device_name(raw_name);
    if (node.empty()) {
        throw StorageError(StorageErrc::invalid_value, "node name must not be empty");
    }
    const AuditEvent* audit = expected.audit ? &*expected.audit : nullptr;
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
    const auto outcome_of = [&](const pqxx::row& r) {
        return bound_claim_of(r, name, node, expected);
    };
    // No row: nothing_pending, the device is gone.
    return first_row(pool_, text, outcome_of, name, take_own_lease, node,
                     static_cast<double>(lease.count()), std::string(to_text(expected.operation)),
                     std::string(to_text(expected.auth_mode)),
                     expected.auth_string_hash.value_or(""), audit != nullptr,
                     audit ? audit->peer : "", audit ? audit->node : "", audit ? audit->event : "",
                     audit ? audit->outcome : "", audit ? audit->detail : "")
        .value_or(ClaimOutcome{});
}

}  // namespace capf::storage
