// Device records, operation leases, issued certificates and audit events.
// Every call is one short transaction, safe when several capfd processes
// share the database. Time comes from the database's now() so that nodes
// agree on leases and deadlines.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "storage/connection_pool.hpp"
#include "storage/types.hpp"

namespace capf::storage {

struct Page {
    std::vector<DeviceRecord> devices;
    /// Pass as `after` for the next page; empty when this was the last.
    std::string next_after;
};

struct ReportRow {
    std::string name;
    bool has_lsc = false;
    std::string lsc_serial;
    std::optional<TimePoint> lsc_not_after;
    std::string lsc_md5;
    Operation pending_operation = Operation::none;
    std::optional<OperationStatus> status;
    std::string reason;
};

/// Counts over the whole fleet, for the stats method.
struct FleetStats {
    std::size_t devices = 0;
    std::size_t with_lsc = 0;
    std::size_t pending_install = 0;
    std::size_t pending_fetch = 0;
    std::size_t pending_delete = 0;
    std::size_t auth_strings_set = 0;
    std::size_t auth_locked = 0;
    std::size_t leases_held = 0;
};

struct AuditCount {
    std::string event;
    std::string outcome;
    std::size_t count = 0;
};

struct AuditQuery {
    std::string device;  ///< empty: all devices
    std::optional<TimePoint> since;
    std::size_t limit = 100;
};

class DeviceRepository {
  public:
    /// Lifetime: the pool must outlive the repository.
    explicit DeviceRepository(ConnectionPool& pool) : pool_(pool) {}

    // Every change below records an audit event in its own transaction,
    // with `actor` (who asked: "uid 0 pid 42" on the admin socket, a phone's
    // address in a dialogue) in the event's peer column. A refused change
    // records nothing.

    // --- devices -----------------------------------------------------------
    /// Audit: device/added, detail "auth_mode M, key_spec K".
    /// Throws StorageError: invalid_device_name, invalid_value, already_exists.
    DeviceRecord add_device(const DeviceSettings& settings, const std::string& actor);
    /// Adds many devices in one statement; existing names are left alone.
    /// Returns how many were added. Audit: device/added for each one added.
    std::size_t add_devices(const std::vector<DeviceSettings>& devices, const std::string& actor);
    /// Changes description, auth mode, key spec and require_sudi (callers
    /// keep a setting by passing the device's current value). Throws
    /// not_found. Audit: device/updated, detail "auth_mode M, key_spec K"
    /// (", require_sudi" appended when it is set; added devices likewise).
    DeviceRecord update_device(const DeviceSettings& settings, const std::string& actor);
    /// Throws not_found. Audit: device/removed.
    void remove_device(const std::string& name, const std::string& actor);
    std::optional<DeviceRecord> find_device(const std::string& name);
    /// The few columns a phone session reads, in one round trip.
    std::optional<SessionDevice> find_session_device(const std::string& name);

    /// A session's lookup that, under the null string, is also its claim:
    /// the device, and when it is under the null string with an operation
    /// pending and its deadline not passed, `authenticated` audited and the
    /// claim as claim_pending_operation makes it (nothing else is left to
    /// check under the null string), all in one statement. `may_claim`
    /// false: the caller knows the operation held (held_elsewhere).
    struct SessionLookup {
        std::optional<SessionDevice> device;
        std::optional<ClaimOutcome> claim;  ///< set when the device was open to claim
    };
    SessionLookup find_session_device_and_claim(const std::string& name, const std::string& node,
                                                std::chrono::seconds lease,
                                                const AuditEvent& authenticated, bool may_claim,
                                                bool take_own_lease);
    /// Ordered by name; `after` is the last name of the previous page.
    Page list_devices(const DeviceFilter& filter, const std::string& after, std::size_t limit);

    // --- scheduling ----------------------------------------------------------
    /// Schedules for one device (device level: wins over bulk). Throws not_found.
    /// Audit: schedule/<operation>, detail "device level".
    void schedule_operation(const std::string& name, const ScheduleRequest& request,
                            const std::string& actor);
    /// Schedules for every device matching `filter`. Devices with their own
    /// device-level pending operation are left alone unless `override_device_level`.
    /// Returns how many devices were scheduled. Audit: schedule/<operation>,
    /// detail "bulk", for each device scheduled.
    std::size_t schedule_bulk(const DeviceFilter& filter, const ScheduleRequest& request,
                              bool override_device_level, const std::string& actor);
    /// Clears a pending operation (status stays for the record). Throws not_found.
    /// Audit: schedule/cancelled, detail the operation that was pending.
    void cancel_operation(const std::string& name, const std::string& actor);
    /// Marks pending operations whose deadline has passed as expired.
    /// Returns how many.
    std::size_t expire_overdue_operations();

    // --- auth strings --------------------------------------------------------
    /// Stores an opaque salted hash made by the caller; resets failures and
    /// the lockout. Throws not_found. Audit: auth_string/set, with an empty
    /// detail (never the hash).
    void set_auth_string_hash(const std::string& name, const std::string& hash,
                              const std::string& actor);
    /// The same for many devices in one statement: (name, hash) pairs. All
    /// or nothing: throws not_found naming a missing device.
    void set_auth_string_hashes(const std::vector<std::pair<std::string, std::string>>& hashes,
                                const std::string& actor);
    /// Throws not_found. Audit: auth_string/deleted.
    void clear_auth_string(const std::string& name, const std::string& actor);
    /// The stored hash, or nothing.
    std::optional<std::string> auth_string_hash(const std::string& name);
    /// Counts one attempt with an auth string before the caller compares it,
    /// in one UPDATE ... RETURNING under the row lock, and locks the device
    /// when this attempt reaches `lockout_after`. So N concurrent guesses
    /// at a device with lockout L get at most L hashes to compare; the rest
    /// are locked_out without one. A matching attempt resets the count when
    /// it consumes the string.
    AuthStringAttempt begin_auth_string_attempt(const std::string& name, int lockout_after);
    /// A matching string is used up, if it is still `hash` (compare-and-set):
    /// of two sessions with the right string, only one gets true. Resets the
    /// failure count and the lock.
    bool consume_auth_string(const std::string& name, const std::string& hash);
    /// A comparison matched `hash`: resets the failure count if the stored
    /// hash is still `hash`. Does not clear the string (a successful
    /// operation uses it up, see OperationClaim::auth_string_hash). Unlocks
    /// only with `undo_own_lock`: when the lock was set by this very attempt
    /// (AuthStringAttempt::locked_now), which was counted before it matched.
    /// False when the string changed meanwhile.
    bool acknowledge_auth_string_match(const std::string& name, const std::string& hash,
                                       bool undo_own_lock = false);
    /// Ends a lockout: resets the failure count and the lock, keeps the
    /// string. Throws not_found. Audit: auth_string/unlocked.
    void unlock_auth_string(const std::string& name, const std::string& actor);
    /// Names of devices with an auth string set (never the string).
    std::vector<std::string> devices_with_auth_string(const std::string& name_prefix);

    // --- operation lease -----------------------------------------------------
    /// Hands the device's pending operation to exactly one caller: nothing
    /// when there is none, the deadline passed, the operation is locked, or
    /// another node holds an unexpired lease. An expired lease (its node
    /// died) can be taken again.
    /// With `take_own_lease`, an unexpired lease already held by `node` can
    /// be taken too: for a node that knows no session of its own holds it.
    std::optional<OperationClaim> claim_pending_operation(const std::string& name,
                                                          const std::string& node,
                                                          std::chrono::seconds lease,
                                                          bool take_own_lease = false);

    /// The same, bound to what the session authenticated against: when the
    /// device's auth mode or pending operation is no longer `expected`'s, or
    /// expected.auth_string_hash is set and the stored hash is no longer it,
    /// nothing is claimed and the status is operation_changed, with `detail`
    /// saying what changed. The claim carries expected.auth_string_hash,
    /// which its successful outcome uses up.
    ClaimOutcome claim_pending_operation(const std::string& name, const std::string& node,
                                         std::chrono::seconds lease,
                                         const ClaimExpectation& expected,
                                         bool take_own_lease = false);

    // --- outcomes (each also appends an audit event with `peer`, the
    //     phone's address, and the claim's node; each refuses with lease_lost
    //     when this node no longer holds the lease) ---------------------------
    // A successful outcome (store confirmed, fetched, delete confirmed)
    // also uses up the auth string the claim carries, if it is still the
    // stored one (compare-and-set), resetting the failure count; audit
    // auth_string/used. Failures never use it up: the phone may retry.
    // Each successful outcome also writes a delivery row (the outbox, see
    // delivery_repository.hpp) in its own transaction: store confirmed ->
    // installed, fetched -> fetched, delete confirmed -> deleted. Failures
    // and refusals write none.
    void record_certificate_issued(const OperationClaim& claim, const IssuedCertificateRecord& cert,
                                   const std::string& peer);
    /// Every other unrevoked certificate of the device becomes superseded.
    void record_store_confirmed(const OperationClaim& claim, const IssuedCertificateRecord& cert,
                                const std::string& peer);
    void record_fetched_certificate(const OperationClaim& claim, const Bytes& der,
                                    const std::string& md5_hex, const Bytes& public_key_der,
                                    const std::string& peer);
    /// Every unrevoked certificate of the device becomes deleted, and the
    /// certificate fetched from it earlier is forgotten (the phone holds none).
    void record_delete_confirmed(const OperationClaim& claim, const std::string& peer);
    void record_failure(const OperationClaim& claim, const std::string& reason,
                        const std::string& peer);
    /// The phone refused the certificate in STORE_CERT_RESPONSE: it is
    /// revoked as refused, and the failure recorded as record_failure does,
    /// in one transaction.
    void record_store_refused(const OperationClaim& claim, const std::string& serial_hex,
                              const std::string& reason, const std::string& peer);

    // --- certificates ----------------------------------------------------------
    /// The standing of a certificate a phone presents (serial as the issuer
    /// writes it, lower-case hex): a revoked one's reason first, then current
    /// (the device's LSC), unknown_outcome (issued, never confirmed), or
    /// not_issued (not issued to this device, or no such device).
    CertificateStanding certificate_standing(const std::string& device,
                                             const std::string& serial_hex);
    /// A phone proved possession of an unknown-outcome certificate: it
    /// becomes the device's current LSC (with `public_key_der`), confirmed;
    /// every other unrevoked certificate of the device is superseded. If the
    /// pending install was scheduled before it was issued, the install is
    /// done (completed_install). Any other standing changes nothing
    /// (confirmed false). Audit: certificate/confirmed, peer `actor`; a
    /// confirmation also writes an 'installed' delivery row.
    PresentedConfirmation confirm_presented_certificate(const std::string& device,
                                                        const std::string& serial_hex,
                                                        const Bytes& public_key_der,
                                                        const std::string& actor);
    /// An administrator revokes a certificate; the device's LSC fields stay
    /// (the standing refuses it). Throws not_found (no such serial),
    /// invalid_value (already revoked; the message says when and why).
    /// Audit: certificate/revoked, detail "serial S".
    void revoke_certificate(const std::string& serial_hex, const std::string& actor);
    /// The certificates issued to a device, newest first. Throws not_found
    /// when there is no such device and none were issued to that name.
    std::vector<IssuedCertificateInfo> list_certificates(const std::string& device);

    // --- audit and reports -----------------------------------------------------
    void append_audit(const AuditEvent& event);
    /// For events an unauthenticated peer can cause at will: one row per
    /// (peer, event, outcome, detail) per minute, whose repeat_count counts
    /// them. The caller keeps the cause in `detail`, and leaves out anything
    /// the peer chose freely (such as an unknown device's name).
    void append_rate_limited_audit(const AuditEvent& event);
    std::vector<AuditEvent> audit_events(const AuditQuery& query);
    std::vector<ReportRow> report(const DeviceFilter& filter);
    FleetStats fleet_stats();
    /// Audit events since `since`, counted by event and outcome.
    std::vector<AuditCount> audit_counts(TimePoint since);
    /// Issued certificates of a device, newest first: serial and whether confirmed.
    std::vector<std::pair<std::string, bool>> issued_certificates(const std::string& name);

  private:
    ConnectionPool& pool_;
};

/// The canonical form of a name or StorageError(invalid_device_name).
std::string checked_device_name(const std::string& name);

}  // namespace capf::storage
