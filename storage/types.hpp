// Value types of the device records, with their text forms as stored in the
// database (where CHECK constraints refuse anything else).
#pragma once

#include <chrono>
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
};

/// What an administrator gives when adding or updating a device.
struct DeviceSettings {
    std::string name;
    std::string description;
    AuthMode auth_mode = AuthMode::null_string;
    std::string key_spec = "rsa-2048";
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

/// A pending operation handed to one session (the lease).
struct OperationClaim {
    std::string device;
    Operation operation = Operation::none;
    AuthMode auth_mode = AuthMode::null_string;
    std::string key_spec;
    std::string node;
    TimePoint lease_expires_at;
};

/// One counted attempt with an auth string (DeviceRepository::
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

struct AuditEvent {
    std::string device;
    std::string peer;
    std::string node;
    std::string event;
    std::string outcome;
    std::string detail;
    std::optional<TimePoint> at;  ///< set when read back
};

}  // namespace capf::storage
