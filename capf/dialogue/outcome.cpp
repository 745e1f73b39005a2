#include "capf/dialogue/outcome.hpp"

namespace capf {

std::string_view session_result_name(SessionResult r) noexcept {
    switch (r) {
        case SessionResult::succeeded:
            return "succeeded";
        case SessionResult::refused:
            return "refused";
        case SessionResult::failed:
            return "failed";
        case SessionResult::no_action:
            return "no_action";
    }
    return "failed";
}

std::string_view session_cause_name(SessionCause c) noexcept {
    switch (c) {
        // clang-format off
        case SessionCause::none: return "none";
        case SessionCause::lsc_installed: return "lsc_installed";
        case SessionCause::certificate_fetched: return "certificate_fetched";
        case SessionCause::certificate_deleted: return "certificate_deleted";
        case SessionCause::lsc_confirmed: return "lsc_confirmed";
        case SessionCause::server_busy: return "server_busy";
        case SessionCause::lsc_not_current: return "lsc_not_current";
        case SessionCause::operation_changed: return "operation_changed";
        case SessionCause::fetched_certificate_refused: return "fetched_certificate_refused";
        case SessionCause::no_pending_operation: return "no_pending_operation";
        case SessionCause::operation_deadline_passed: return "operation_deadline_passed";
        case SessionCause::operation_claimed_elsewhere: return "operation_claimed_elsewhere";
        case SessionCause::unknown_device: return "unknown_device";
        case SessionCause::invalid_device_name: return "invalid_device_name";
        case SessionCause::missing_device_name: return "missing_device_name";
        case SessionCause::wrong_version: return "wrong_version";
        case SessionCause::invalid_message: return "invalid_message";
        case SessionCause::unexpected_message: return "unexpected_message";
        case SessionCause::auth_string_missing: return "auth_string_missing";
        case SessionCause::auth_string_mismatch: return "auth_string_mismatch";
        case SessionCause::auth_string_not_set: return "auth_string_not_set";
        case SessionCause::auth_string_locked_out: return "auth_string_locked_out";
        case SessionCause::certificate_missing: return "certificate_missing";
        case SessionCause::signed_data_missing: return "signed_data_missing";
        case SessionCause::lsc_required: return "lsc_required";
        case SessionCause::mic_required: return "mic_required";
        case SessionCause::certificate_refused: return "certificate_refused";
        case SessionCause::keygen_failed: return "keygen_failed";
        case SessionCause::keygen_timeout: return "keygen_timeout";
        case SessionCause::key_rejected: return "key_rejected";
        case SessionCause::store_refused: return "store_refused";
        case SessionCause::fetch_refused: return "fetch_refused";
        case SessionCause::fetched_certificate_malformed: return "fetched_certificate_malformed";
        case SessionCause::delete_refused: return "delete_refused";
        case SessionCause::timeout: return "timeout";
        case SessionCause::phone_closed_connection: return "phone_closed_connection";
        case SessionCause::database_unavailable: return "database_unavailable";
        case SessionCause::internal_error: return "internal_error";
            // clang-format on
    }
    return "internal_error";
}

std::string SessionOutcome::cause_text() const {
    // The authority names its own causes (untrusted_chain, ...): operators
    // grep for those, so they stand alone.
    if (cause == SessionCause::certificate_refused)
        return detail;
    std::string text(session_cause_name(cause));
    if (detail.empty())
        return text;
    // "lsc_installed serial=...", "keygen_timeout after 2 attempts": a
    // detail that qualifies the cause; otherwise it explains it after ": ".
    const bool qualifies =
        cause == SessionCause::lsc_installed || cause == SessionCause::lsc_confirmed ||
        cause == SessionCause::certificate_fetched || detail.rfind("after ", 0) == 0;
    return text + (qualifies ? " " : ": ") + detail;
}

}  // namespace capf
