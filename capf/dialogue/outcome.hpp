// How a phone session ended, as typed values: a result, a cause code and a
// free-text detail. The log line and the audit event render them in one
// readable form, e.g. "refused wrong_version: 2".
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "protocol/types.hpp"
#include "storage/types.hpp"

namespace capf {

enum class SessionResult { succeeded, refused, failed, no_action };

enum class SessionCause {
    none,  ///< the session has not ended yet
    // succeeded
    lsc_installed,
    certificate_fetched,
    certificate_deleted,
    lsc_confirmed,  ///< an unknown-outcome LSC presented: the phone holds it, the install is done
    // no action for this phone
    no_pending_operation,
    operation_deadline_passed,
    operation_claimed_elsewhere,
    server_busy,  ///< the blocking pool's queue is full: come back later
    // refused: who the phone says it is, or what it sent
    unknown_device,
    invalid_device_name,
    missing_device_name,
    wrong_version,
    invalid_message,
    unexpected_message,
    // refused: authentication
    auth_string_missing,
    auth_string_mismatch,
    auth_string_not_set,
    auth_string_locked_out,
    certificate_missing,
    signed_data_missing,
    lsc_required,
    mic_required,
    certificate_refused,  ///< the detail is the authority's cause, e.g. untrusted_chain
    lsc_not_current,      ///< the detail is its standing: superseded, refused, deleted, revoked
    operation_changed,    ///< mode or operation changed between authentication and claim
    fetched_certificate_refused,  ///< not the device's (detail: why)
    // failed
    keygen_failed,
    keygen_timeout,
    key_rejected,
    store_refused,
    fetch_refused,
    fetched_certificate_malformed,
    delete_refused,
    timeout,
    phone_closed_connection,
    database_unavailable,
    internal_error,
};

std::string_view session_result_name(SessionResult r) noexcept;  ///< "succeeded", ...
std::string_view session_cause_name(SessionCause c) noexcept;    ///< "unknown_device", ...

/// What happened, for the one log line per session, the audit and the tests.
struct SessionOutcome {
    std::string device;  ///< canonical name, or what the phone sent
    storage::Operation operation = storage::Operation::none;
    SessionResult result = SessionResult::failed;
    SessionCause cause = SessionCause::none;
    std::string detail;                          ///< e.g. "2" for wrong_version, a serial
    std::optional<protocol::Reason> end_reason;  ///< what END_SESSION carried, if sent

    /// "wrong_version: 2", "lsc_installed serial=ab12", "untrusted_chain":
    /// the cause as the audit, the log and the device's operation reason
    /// show it.
    std::string cause_text() const;
};

}  // namespace capf
