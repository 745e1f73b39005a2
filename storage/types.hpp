// Value types of the device records, with their text forms as stored in the
// database (where CHECK constraints refuse anything else).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace capf::storage {

using TimePoint = std::chrono::system_clock::time_point;
using Bytes = std::vector<std::uint8_t>;

enum class Operation { none, install, fetch, remove };
enum class AuthMode { null_string, auth_string, lsc, mic, lsc_or_mic };
enum class OperationStatus { pending, in_progress, succeeded, failed, expired };

std::string_view to_text(Operation v) noexcept;  ///< none, install, fetch, delete
std::string_view to_text(AuthMode v) noexcept;   ///< null-string, auth-string, lsc, mic, lsc-or-mic
std::string_view to_text(
    OperationStatus v) noexcept;  ///< pending, in-progress, succeeded, failed, expired
/// Parse the text forms; StorageError(invalid_value) naming the field and
/// the allowed values otherwise.
Operation parse_operation(std::string_view text);
AuthMode parse_auth_mode(std::string_view text);
OperationStatus parse_operation_status(std::string_view text);

/// Whether a certificate a phone presents may authenticate it. Only current
/// and unknown_outcome may; the others say why not.
enum class CertificateStanding {
    current,          ///< the device's confirmed LSC, not revoked
    unknown_outcome,  ///< issued to the device, never confirmed, not revoked
    superseded,       ///< a newer certificate of the device was confirmed
    refused,          ///< the phone refused it in STORE_CERT_RESPONSE
    deleted,          ///< the device's LSC was deleted
    revoked,          ///< an administrator revoked it
    not_issued,       ///< capfd never issued it to this device
};
/// current, unknown-outcome, superseded, refused, deleted, revoked, not-issued
std::string_view to_text(CertificateStanding v) noexcept;

/// An LSC as the database keeps it: issued (possibly unconfirmed) or the
/// device's current one.
struct IssuedCertificateRecord {
    std::string serial_hex;
    Bytes der;
    TimePoint not_before;
    TimePoint not_after;
    Bytes public_key_der;
    std::string md5_hex;
};
/// The device's confirmed LSC: the same fields.
using CurrentLsc = IssuedCertificateRecord;

/// A certificate issued to a device, as `cert list` shows it.
struct IssuedCertificateInfo {
    std::string serial_hex;
    std::string md5_hex;
    std::string node;  ///< the node that issued it
    TimePoint not_before;
    TimePoint not_after;
    TimePoint issued_at;
    bool confirmed = false;
    std::optional<TimePoint> revoked_at;
    std::string revoked_reason;  ///< superseded, refused, deleted, revoked; empty when not revoked
    CertificateStanding standing = CertificateStanding::not_issued;
};

/// What confirm_presented_certificate did.
struct PresentedConfirmation {
    bool confirmed = false;          ///< it was unknown-outcome and is now current
    bool completed_install = false;  ///< and that completed the pending install
};

// Key specs are kept as their text ("rsa-2048", see ca/key_spec.hpp, the
// one list of them); the devices table's CHECK constraint refuses any other
// (StorageError invalid_value).
struct DeviceRecord {
    std::string name;
    std::string description;
    AuthMode auth_mode = AuthMode::null_string;
    std::string key_spec = "rsa-2048";
    Operation pending_operation = Operation::none;
    bool scheduled_in_bulk = false;
    std::optional<TimePoint> operation_deadline;
    std::optional<OperationStatus> operation_status;
    std::string operation_reason;
    std::optional<TimePoint> operation_updated_at;
    bool has_auth_string = false;
    int failed_auth_count = 0;
    bool auth_locked = false;
    std::optional<std::string> lease_owner;
    std::optional<TimePoint> lease_expires_at;
    std::optional<CurrentLsc> lsc;
    std::optional<std::string> fetched_md5;
    std::optional<TimePoint> fetched_at;
    bool require_sudi = false;  ///< a phone must send a valid SUDI
};

/// What an administrator gives when adding or updating a device.
struct DeviceSettings {
    std::string name;
    std::string description;
    AuthMode auth_mode = AuthMode::null_string;
    std::string key_spec = "rsa-2048";
    bool require_sudi = false;
};

/// Filters for listing, reporting and bulk scheduling. Empty fields match all.
struct DeviceFilter {
    std::string name_prefix;
    std::optional<Operation> operation;
    std::optional<OperationStatus> status;
    std::optional<TimePoint> lsc_expiring_before;
};

struct ScheduleRequest {
    Operation operation = Operation::install;
    std::optional<AuthMode> auth_mode;    ///< keep the device's own when absent
    std::optional<std::string> key_spec;  ///< keep the device's own when absent
    std::optional<TimePoint> deadline;    ///< "completes by"; none: no deadline
};

/// One row of the audit log; `peer` is the actor (a phone's address, an
/// administrator's "uid N pid M").
struct AuditEvent {
    std::string device;
    std::string peer;
    std::string node;
    std::string event;
    std::string outcome;
    std::string detail;
    std::optional<TimePoint> at;  ///< set when read back
    /// How many events this row stands for (rate-limited rows count repeats).
    std::size_t repeat_count = 1;
};

/// What a phone session needs of its device, and no more (no certificate
/// bytes): OperationClaims::find_session_device.
struct SessionDevice {
    std::string name;
    Operation pending_operation = Operation::none;
    AuthMode auth_mode = AuthMode::null_string;
    std::string key_spec;
    bool deadline_passed = false;  ///< by the database's clock, as leases are
    bool require_sudi = false;
};

/// A pending operation handed to one session (the lease).
struct OperationClaim {
    std::string device;
    Operation operation = Operation::none;
    AuthMode auth_mode = AuthMode::null_string;
    std::string key_spec;
    std::string node;
    TimePoint lease_expires_at;
    /// The auth string this claim uses up when its operation succeeds (the
    /// hash the phone's string matched); nothing for other modes.
    std::optional<std::string> auth_string_hash{};
};

/// What the session authenticated against, which the claim must still find:
/// an administrator's change in between refuses the claim.
struct ClaimExpectation {
    Operation operation = Operation::none;
    AuthMode auth_mode = AuthMode::null_string;
    /// The stored hash the phone's auth string matched, under auth-string.
    std::optional<std::string> auth_string_hash{};
    /// The authentication that led to the claim, audited in the claim's own
    /// statement (whatever the claim finds) so that it costs no round trip
    /// of its own.
    std::optional<AuditEvent> audit{};
};

struct ClaimOutcome {
    enum class Status {
        claimed,            ///< `claim` holds the lease
        nothing_pending,    ///< no operation to run (none, deadline passed, locked)
        held_elsewhere,     ///< another session or node holds an unexpired lease
        operation_changed,  ///< the mode, operation or auth string changed since authentication
    };
    Status status = Status::nothing_pending;
    std::optional<OperationClaim> claim;
    std::string detail;  ///< what changed, for the audit (operation_changed)
};

/// One counted attempt with an auth string (AuthStrings::
/// begin_auth_string_attempt).
struct AuthStringAttempt {
    enum class Status {
        compare,     ///< counted: compare the string with `hash`
        none_set,    ///< no auth string is set (or no such device): nothing counted
        locked_out,  ///< the device is locked: nothing counted, nothing to compare
    };
    Status status = Status::none_set;
    std::string hash;         ///< the stored hash, when status is compare
    bool locked_now = false;  ///< this attempt reached the lockout
};

/// What changed for a device, as the TFTP side is told (issue 12). revoked
/// and removed withdraw what was written for the device (issue 32): its
/// current LSC was revoked by an administrator, or the device was removed.
enum class DeliveryChange { installed, fetched, deleted, requested, revoked, removed };
std::string_view to_text(DeliveryChange change) noexcept;  ///< "installed", ...

/// What an encryptor needs about one device: its current record. The
/// certificate, key and MD5 are the current LSC's; when the device has none,
/// the fetched certificate's if any; otherwise empty. A revoked certificate
/// is never among them.
struct DeviceFacts {
    std::string name;
    std::optional<Bytes> certificate_der;
    std::optional<Bytes> public_key_der;
    std::string md5_hex;
    std::string key_spec;
    /// There is no such device any more (it was removed): everything written
    /// for it goes. Only the name is set.
    bool removed = false;
};

/// The pending changes of one device, claimed whole by one node
/// (DeliveryRepository::claim_deliveries). Deliver `facts` (read under the
/// claim, so at least as new as every change in `changes`), then complete
/// or fail the batch.
struct DeliveryBatch {
    std::string device;
    std::vector<DeliveryChange> changes;  ///< of the rows in `ids`, oldest first
    std::vector<long long> ids;           ///< the outbox rows this batch stands for
    int attempts = 0;                     ///< failed attempts so far (the most of any row)
    DeviceFacts facts;
    /// The encryptors the rows are owed to (sorted, distinct); nothing when
    /// any row is owed to every encryptor.
    std::optional<std::vector<std::string>> encryptors;
};

/// The outbox at a glance, for `capfctl stats`.
struct DeliveryStats {
    std::size_t pending = 0;              ///< rows not yet delivered
    std::size_t failing = 0;              ///< of those, rows that failed at least once
    std::size_t delivered_last_hour = 0;  ///< rows delivered in the last hour
    std::size_t parked = 0;               ///< device and encryptor pairs parked
    std::string last_error;               ///< the latest failure's message; empty when none
    std::optional<TimePoint> last_error_at;
    std::optional<TimePoint> oldest_pending;  ///< when the oldest pending row was written
};

/// How long to wait after a delivery's `attempts`-th failure: `first`,
/// doubling with each further failure, never more than `max` (attempts <= 1
/// gives `first`; `first` is capped by `max` too).
std::chrono::seconds delivery_backoff(int attempts, std::chrono::seconds first,
                                      std::chrono::seconds max) noexcept;

}  // namespace capf::storage
