#include "storage/migrations.hpp"

#include <pqxx/pqxx>

#include "storage/connection_pool.hpp"

namespace capf::storage {
namespace {

struct Migration {
    int version;
    const char* sql;
};

// Append only: a released migration never changes.
constexpr Migration migrations[] = {
    {1, R"SQL(
CREATE TABLE devices (
    name text PRIMARY KEY CHECK (name ~ '^[A-Z0-9._-]{1,64}$'),
    description text NOT NULL DEFAULT '' CHECK (length(description) <= 256),
    auth_mode text NOT NULL DEFAULT 'null-string'
        CHECK (auth_mode IN ('null-string', 'auth-string', 'lsc', 'mic', 'lsc-or-mic')),
    key_spec text NOT NULL DEFAULT 'rsa-2048'
        CHECK (key_spec IN ('rsa-512', 'rsa-1024', 'rsa-2048', 'rsa-3072', 'rsa-4096',
                            'ec-p256', 'ec-p384', 'ec-p521')),
    pending_operation text NOT NULL DEFAULT 'none'
        CHECK (pending_operation IN ('none', 'install', 'fetch', 'delete')),
    scheduled_in_bulk boolean NOT NULL DEFAULT false,
    operation_deadline timestamptz,
    operation_status text
        CHECK (operation_status IN ('pending', 'in-progress', 'succeeded', 'failed', 'expired')),
    operation_reason text NOT NULL DEFAULT '',
    operation_scheduled_at timestamptz,
    operation_updated_at timestamptz,
    auth_string_hash text CHECK (auth_string_hash <> ''),
    failed_auth_count integer NOT NULL DEFAULT 0 CHECK (failed_auth_count >= 0),
    auth_locked boolean NOT NULL DEFAULT false,
    lease_owner text CHECK (lease_owner <> ''),
    lease_expires_at timestamptz,
    lsc_serial text CHECK (lsc_serial ~ '^[0-9a-f]+$'),
    lsc_der bytea,
    lsc_not_before timestamptz,
    lsc_not_after timestamptz,
    lsc_public_key bytea,
    lsc_md5 text CHECK (lsc_md5 ~ '^[0-9a-f]{32}$'),
    fetched_der bytea,
    fetched_md5 text CHECK (fetched_md5 ~ '^[0-9a-f]{32}$'),
    fetched_public_key bytea,
    fetched_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CHECK ((lease_owner IS NULL) = (lease_expires_at IS NULL)),
    CHECK ((lsc_serial IS NULL) = (lsc_der IS NULL) AND (lsc_der IS NULL) = (lsc_md5 IS NULL))
);
CREATE INDEX devices_lsc_not_after ON devices (lsc_not_after);
CREATE INDEX devices_pending ON devices (pending_operation) WHERE pending_operation <> 'none';

CREATE TABLE issued_certificates (
    serial text PRIMARY KEY CHECK (serial ~ '^[0-9a-f]+$'),
    device text NOT NULL CHECK (device ~ '^[A-Z0-9._-]{1,64}$'),
    der bytea NOT NULL,
    md5 text NOT NULL CHECK (md5 ~ '^[0-9a-f]{32}$'),
    not_before timestamptz NOT NULL,
    not_after timestamptz NOT NULL,
    node text NOT NULL,
    issued_at timestamptz NOT NULL DEFAULT now(),
    confirmed boolean NOT NULL DEFAULT false,
    revoked_at timestamptz
);
CREATE INDEX issued_certificates_device ON issued_certificates (device, issued_at);

CREATE TABLE audit_events (
    id bigserial PRIMARY KEY,
    at timestamptz NOT NULL DEFAULT now(),
    device text NOT NULL DEFAULT '',
    peer text NOT NULL DEFAULT '',
    node text NOT NULL DEFAULT '',
    event text NOT NULL CHECK (event <> ''),
    outcome text NOT NULL CHECK (outcome <> ''),
    detail text NOT NULL DEFAULT ''
);
CREATE INDEX audit_events_device_at ON audit_events (device, at);
CREATE INDEX audit_events_at ON audit_events (at);
)SQL"},
    // Trust anchors added through the admin socket, shared by every node.
    {2, R"SQL(
CREATE TABLE trust_anchors (
    role text NOT NULL CHECK (role IN ('lsc-issuer', 'mic-root')),
    sha256 text NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
    der bytea NOT NULL CHECK (length(der) > 0),
    subject text NOT NULL,
    added_by text NOT NULL DEFAULT '',
    added_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (role, sha256)
);
)SQL"},
    // Certificate standing (why an issued certificate no longer
    // authenticates), per-device SUDI, the wider trust roles, and audit rows
    // that count repeats within a minute instead of one row per attempt.
    {3, R"SQL(
ALTER TABLE issued_certificates
    ADD COLUMN revoked_reason text
        CHECK (revoked_reason IN ('superseded', 'refused', 'deleted', 'revoked'));
-- Certificates that lost their standing before reasons were kept: those a
-- later confirmed certificate replaced, and those of a device whose LSC was
-- deleted, as the repository would have marked them.
UPDATE issued_certificates c
SET revoked_reason = CASE WHEN c.revoked_at IS NOT NULL THEN 'revoked'
                          WHEN d.lsc_serial IS NULL THEN 'deleted'
                          ELSE 'superseded' END,
    revoked_at = COALESCE(c.revoked_at, now())
FROM devices d
WHERE d.name = c.device
    AND (c.revoked_at IS NOT NULL
         OR (c.confirmed AND c.serial IS DISTINCT FROM d.lsc_serial));
UPDATE issued_certificates SET revoked_reason = 'revoked'
WHERE revoked_at IS NOT NULL AND revoked_reason IS NULL;
ALTER TABLE issued_certificates
    ADD CONSTRAINT issued_certificates_revoked_reason_iff
        CHECK ((revoked_at IS NULL) = (revoked_reason IS NULL));
CREATE INDEX issued_certificates_unrevoked ON issued_certificates (device)
    WHERE revoked_at IS NULL;

ALTER TABLE devices ADD COLUMN require_sudi boolean NOT NULL DEFAULT false;

ALTER TABLE trust_anchors DROP CONSTRAINT IF EXISTS trust_anchors_role_check;
ALTER TABLE trust_anchors ADD CONSTRAINT trust_anchors_role_check
    CHECK (role IN ('lsc-issuer', 'mic-root', 'sudi-root', 'intermediate'));

ALTER TABLE audit_events
    ADD COLUMN repeat_count integer NOT NULL DEFAULT 1 CHECK (repeat_count >= 1),
    ADD COLUMN rate_window timestamptz;
CREATE UNIQUE INDEX audit_events_rate_limited
    ON audit_events (peer, event, outcome, detail, rate_window)
    WHERE rate_window IS NOT NULL;
)SQL"},
    // The delivery outbox (issue 12): a row per change the TFTP side must
    // follow, written in the same transaction as the change. Delivery is
    // level-triggered: the encryptors write a device's current facts, so
    // every pending row of a device is delivered by one node at once. The
    // rows go with their device (a removed device has nothing to deliver).
    {4, R"SQL(
CREATE TABLE deliveries (
    id bigserial PRIMARY KEY,
    device text NOT NULL CHECK (device ~ '^[A-Z0-9._-]{1,64}$')
        REFERENCES devices (name) ON DELETE CASCADE,
    change text NOT NULL CHECK (change IN ('installed', 'fetched', 'deleted', 'requested')),
    created_at timestamptz NOT NULL DEFAULT now(),
    attempts integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    lease_owner text CHECK (lease_owner <> ''),
    lease_expires_at timestamptz,
    last_error text NOT NULL DEFAULT '',
    last_error_at timestamptz,
    delivered_at timestamptz,
    CHECK ((lease_owner IS NULL) = (lease_expires_at IS NULL)),
    CHECK (delivered_at IS NULL OR lease_owner IS NULL)
);
CREATE INDEX deliveries_due ON deliveries (next_attempt_at) WHERE delivered_at IS NULL;
-- Whole, not partial: removing a device finds its delivered rows too.
CREATE INDEX deliveries_device ON deliveries (device);
CREATE INDEX deliveries_delivered_at ON deliveries (delivered_at) WHERE delivered_at IS NOT NULL;
CREATE INDEX deliveries_last_error_at ON deliveries (last_error_at)
    WHERE last_error_at IS NOT NULL;
)SQL"},
    // Sessions that never authenticate are counted per device as well as per
    // source (issue 32): anyone can name a known device, and each session
    // added a row.
    {5, R"SQL(
DROP INDEX audit_events_rate_limited;
CREATE UNIQUE INDEX audit_events_rate_limited
    ON audit_events (device, peer, event, outcome, detail, rate_window)
    WHERE rate_window IS NOT NULL;
)SQL"},
    // Delivery per encryptor (issue 32): a row is owed to the encryptors it
    // names (NULL: every configured one), so a retry runs only those that
    // failed. A failure that cannot succeed until its cause changes (an EC
    // key for enc-sgn, no source file) is parked, one row per device and
    // encryptor, instead of retried for ever; any new row of the device
    // retries it. Self-contained: it only adds.
    {6, R"SQL(
ALTER TABLE deliveries ADD COLUMN encryptors text[]
    CHECK (encryptors IS NULL OR cardinality(encryptors) > 0);
CREATE TABLE parked_deliveries (
    device text NOT NULL CHECK (device ~ '^[A-Z0-9._-]{1,64}$')
        REFERENCES devices (name) ON DELETE CASCADE,
    encryptor text NOT NULL CHECK (encryptor <> ''),
    cause text NOT NULL CHECK (cause <> ''),
    error text NOT NULL DEFAULT '',
    since timestamptz NOT NULL DEFAULT now(),
    last_failed_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (device, encryptor)
);
CREATE INDEX parked_deliveries_cause ON parked_deliveries (encryptor, cause, device);
)SQL"},
    // Revocation and removal reach the TFTP side (issue 32): a revoked LSC
    // and a removed device queue a row that withdraws what was written for
    // the device. A removed device's row must outlive the device, so the
    // outbox no longer goes with it (its rows are purged by retention once
    // delivered, like every other).
    {7, R"SQL(
ALTER TABLE deliveries DROP CONSTRAINT deliveries_device_fkey;
ALTER TABLE deliveries DROP CONSTRAINT deliveries_change_check;
ALTER TABLE deliveries ADD CONSTRAINT deliveries_change_check
    CHECK (change IN ('installed', 'fetched', 'deleted', 'requested', 'revoked', 'removed'));
)SQL"},
    // The Trust Verification Service's store (issue 34), shared by every
    // node: certificates by the SHA-256 of their DER, each with its ITL role
    // numbers (section 9) and the TTL a phone may cache the answer. A node's
    // own certificates (CAPF, TFTP, TVS, SAST) are `automatic`, kept by that
    // node at start; the rest an operator added. Nodes keep an in-memory
    // view and poll trusted_certificates_version (one row, one bigint)
    // instead of asking per request: the counter is a table, not a sequence,
    // so a new version becomes visible in the same commit as the change
    // (a sequence moves before the commit, and a node reading in between
    // would keep stale rows under the new number). The NOTIFY is for a
    // node that would rather listen than poll.
    {8, R"SQL(
CREATE TABLE trusted_certificates (
    sha256 text PRIMARY KEY CHECK (sha256 ~ '^[0-9a-f]{64}$'),
    der bytea NOT NULL CHECK (length(der) > 0),
    subject text NOT NULL,
    issuer text NOT NULL,
    serial text NOT NULL CHECK (serial ~ '^[0-9a-f]+$'),
    roles smallint[] NOT NULL
        CHECK (cardinality(roles) > 0 AND roles <@ '{0,1,2,3,4,7,21}'::smallint[]),
    ttl_seconds integer NOT NULL CHECK (ttl_seconds > 0),
    not_after timestamptz NOT NULL,
    added_by text NOT NULL DEFAULT '',
    added_at timestamptz NOT NULL DEFAULT now(),
    automatic boolean NOT NULL DEFAULT false,
    node text CHECK (node <> ''),
    CHECK (automatic = (node IS NOT NULL))
);
CREATE INDEX trusted_certificates_node ON trusted_certificates (node) WHERE automatic;

CREATE TABLE trusted_certificates_version (
    only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row),
    version bigint NOT NULL CHECK (version >= 0)
);
INSERT INTO trusted_certificates_version (only_row, version) VALUES (true, 0);

CREATE FUNCTION trusted_certificates_bump_version() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    v bigint;
BEGIN
    UPDATE trusted_certificates_version SET version = version + 1 RETURNING version INTO v;
    PERFORM pg_notify('trusted_certificates_changed', v::text);
    RETURN NULL;
END
$$;
CREATE TRIGGER trusted_certificates_inserted_or_deleted
    AFTER INSERT OR DELETE ON trusted_certificates
    FOR EACH ROW EXECUTE FUNCTION trusted_certificates_bump_version();
-- An UPDATE that changes nothing leaves the version, so that a node
-- restating its own certificates at start sends no other node reloading.
CREATE TRIGGER trusted_certificates_updated
    AFTER UPDATE ON trusted_certificates
    FOR EACH ROW WHEN (OLD.* IS DISTINCT FROM NEW.*)
    EXECUTE FUNCTION trusted_certificates_bump_version();
CREATE TRIGGER trusted_certificates_truncated
    AFTER TRUNCATE ON trusted_certificates
    FOR EACH STATEMENT EXECUTE FUNCTION trusted_certificates_bump_version();
)SQL"},
    // Settings every node shares and an administrator changes at run time
    // (issue 34: the rollback ITL). Number 9: 8 is the TVS store.
    {9, R"SQL(
CREATE TABLE cluster_settings (
    key text PRIMARY KEY CHECK (key ~ '^[a-z][a-z0-9_]{0,63}$'),
    value jsonb NOT NULL,
    changed_by text NOT NULL DEFAULT '',
    changed_at timestamptz NOT NULL DEFAULT now()
);
)SQL"},
};

// An arbitrary constant naming capfd's migration lock.
constexpr long long migration_lock_key = 0x43415046'4d494752;  // "CAPFMIGR"

// Held until the transaction ends, so nodes starting together migrate one
// at a time.
void take_migration_lock(pqxx::work& txn) {
    txn.exec_params(R"SQL(SELECT pg_advisory_xact_lock($1))SQL", migration_lock_key);
}

}  // namespace

int latest_schema_version() noexcept {
    return migrations[std::size(migrations) - 1].version;
}

int apply_migrations(ConnectionPool& pool) {
    pool.transact([](pqxx::work& txn) {
        take_migration_lock(txn);
        txn.exec0(R"SQL(
            CREATE TABLE IF NOT EXISTS schema_migrations (
                version integer PRIMARY KEY,
                applied_at timestamptz NOT NULL DEFAULT now())
        )SQL");
    });
    int current = 0;
    for (const auto& m : migrations) {
        pool.transact([&](pqxx::work& txn) {
            take_migration_lock(txn);
            const auto done = txn.exec_params(R"SQL(
                SELECT 1 FROM schema_migrations WHERE version = $1
            )SQL",
                                              m.version);
            if (done.empty()) {
                txn.exec0(m.sql);
                txn.exec_params0(R"SQL(
                    INSERT INTO schema_migrations (version) VALUES ($1)
                )SQL",
                                 m.version);
            }
        });
        current = m.version;
    }
    return current;
}

}  // namespace capf::storage
