#include "capf/service/device_store.hpp"

#include "capf/service/auth_string.hpp"
#include "storage/device_name.hpp"
#include "storage/error.hpp"

namespace capf {
namespace {

/// The database out of reach: the one storage error the dialogue handles
/// (it refuses the phone cleanly).
bool unavailable(const storage::StorageError& e) {
    return e.code() == storage::StorageErrc::unreachable ||
           e.code() == storage::StorageErrc::pool_exhausted ||
           e.code() == storage::StorageErrc::timeout;
}

/// Runs a repository call, turning the database being out of reach into
/// StoreUnavailable, and an outcome refused for a change under the session
/// (storage's conflict) into OperationChanged.
template <typename F>
auto guarded(F&& f) -> decltype(f()) {
    try {
        return f();
    } catch (const storage::StorageError& e) {
        if (unavailable(e))
            throw StoreUnavailable(e.what());
        if (e.code() == storage::StorageErrc::conflict)
            throw OperationChanged(e.what());
        throw;
    }
}

}  // namespace

std::chrono::seconds operation_lease(const Config& config) {
    const auto keygen = config.keygen.timeout * (config.keygen.retries + 1);
    const auto reads = config.limits.read_timeout * 4;  // auth, store, and slack
    return std::chrono::duration_cast<std::chrono::seconds>(keygen + reads +
                                                            std::chrono::minutes(1));
}

namespace {

DeviceForSession for_session(const storage::SessionDevice& d) {
    DeviceForSession out;
    out.name = d.name;
    out.operation = d.pending_operation;
    out.auth_mode = d.auth_mode;
    out.key_spec = ca::parse_key_spec(d.key_spec).value_or(ca::KeySpec{});
    out.deadline_passed = d.deadline_passed;
    out.require_sudi = d.require_sudi;
    return out;
}

}  // namespace

std::optional<DeviceForSession> StorageDeviceStore::find_device(const std::string& name) {
    return guarded([&]() -> std::optional<DeviceForSession> {
        const auto d = claims_.find_session_device(name);
        if (!d)
            return std::nullopt;
        return for_session(*d);
    });
}

DeviceStore::Lookup StorageDeviceStore::find_and_claim_null_string(
    const std::string& name, const std::string& node, const AuditEvent& authenticated) {
    const auto canonical = storage::canonical_device_name(name).value_or(name);
    bool reserved = false;  // no session of this process holds it: it may be claimed
    {
        const std::lock_guard lock(holding_mutex_);
        reserved = holding_.insert(canonical).second;
    }
    storage::OperationClaims::SessionLookup found;
    try {
        found = claims_.find_session_device_and_claim(
            canonical, node, settings_.lease, authenticated, reserved, /*take_own_lease=*/true);
    } catch (const storage::StorageError& e) {
        if (reserved)
            stop_holding(canonical);
        if (e.code() == storage::StorageErrc::timeout) {
            // The claim waited too long on the device's row lock: the lookup
            // alone does not wait, so the session is still identified, and
            // its claim, made the usual way, fails in the device's name.
            return Lookup{find_device(name), std::nullopt};
        }
        if (unavailable(e))
            throw StoreUnavailable(e.what());
        throw;
    } catch (...) {
        if (reserved)
            stop_holding(canonical);
        throw;
    }
    if (reserved && !(found.claim && found.claim->claim))
        stop_holding(canonical);
    Lookup out;
    if (found.device)
        out.device = for_session(*found.device);
    out.claim = std::move(found.claim);
    return out;
}

AuthStringVerdict StorageDeviceStore::check_auth_string(const std::string& device,
                                                        const std::string& auth_string) {
    return guarded([&]() -> AuthStringVerdict {
        // Counted before the comparison, so the lockout holds however many
        // guesses arrive at once.
        const auto attempt =
            auth_strings_.begin_auth_string_attempt(device, settings_.lockout_failures);
        switch (attempt.status) {
            case storage::AuthStringAttempt::Status::none_set:
                return {AuthStringCheck::none_set, {}};
            case storage::AuthStringAttempt::Status::locked_out:
                return {AuthStringCheck::locked_out, {}};
            case storage::AuthStringAttempt::Status::compare:
                break;
        }
        if (!capf::check_auth_string(auth_string, attempt.hash))
            return {AuthStringCheck::mismatch, {}};
        // Not used up yet: the claim carries the hash, and the operation's
        // success uses it up (compare-and-set: of two sessions with the
        // right string, one uses it). False: a new string was set meanwhile.
        if (!auth_strings_.acknowledge_auth_string_match(device, attempt.hash, attempt.locked_now))
            return {AuthStringCheck::mismatch, {}};
        return {AuthStringCheck::accepted, attempt.hash};
    });
}

ClaimOutcome StorageDeviceStore::claim_operation(const std::string& device, const std::string& node,
                                                 const ClaimExpectation& expected) {
    {
        const std::lock_guard lock(holding_mutex_);
        if (!holding_.insert(device).second)  // another session of this process runs it
            return {ClaimOutcome::Status::held_elsewhere, std::nullopt, {}};
    }
    ClaimOutcome out;
    try {
        out = guarded([&] {
            return claims_.claim_pending_operation(device, node, settings_.lease, expected,
                                                   /*take_own_lease=*/true);
        });
    } catch (...) {
        stop_holding(device);
        throw;
    }
    if (!out.claim) {
        stop_holding(device);
    }
    return out;
}

CertificateStanding StorageDeviceStore::certificate_standing(const std::string& device,
                                                             const std::string& serial_hex) {
    return guarded([&] { return certificates_.certificate_standing(device, serial_hex); });
}

PresentedConfirmation StorageDeviceStore::confirm_presented(
    const std::string& device, const std::string& serial_hex,
    const std::vector<std::uint8_t>& public_key_der, const std::string& peer) {
    return guarded([&] {
        return certificates_.confirm_presented_certificate(device, serial_hex, public_key_der,
                                                           peer);
    });
}

void StorageDeviceStore::release_claim(const OperationClaim& claim) {
    stop_holding(claim.device);
}

void StorageDeviceStore::stop_holding(const std::string& device) {
    const std::lock_guard lock(holding_mutex_);
    holding_.erase(device);
}

void StorageDeviceStore::record_issued(const OperationClaim& claim,
                                       const IssuedCertificateRecord& cert,
                                       const std::string& peer) {
    guarded([&] { outcomes_.record_certificate_issued(claim, cert, peer); });
}

void StorageDeviceStore::record_store_confirmed(const OperationClaim& claim,
                                                const IssuedCertificateRecord& cert,
                                                const std::string& peer) {
    guarded([&] { outcomes_.record_store_confirmed(claim, cert, peer); });
}

void StorageDeviceStore::record_fetched(const OperationClaim& claim,
                                        const std::vector<std::uint8_t>& der,
                                        const std::string& md5_hex,
                                        const std::vector<std::uint8_t>& public_key_der,
                                        const std::string& peer) {
    guarded(
        [&] { outcomes_.record_fetched_certificate(claim, der, md5_hex, public_key_der, peer); });
}

void StorageDeviceStore::record_deleted(const OperationClaim& claim, const std::string& peer) {
    guarded([&] { outcomes_.record_delete_confirmed(claim, peer); });
}

void StorageDeviceStore::record_store_refused(const OperationClaim& claim,
                                              const std::string& serial_hex,
                                              const std::string& reason, const std::string& peer) {
    guarded([&] { outcomes_.record_store_refused(claim, serial_hex, reason, peer); });
}

void StorageDeviceStore::record_failure(const OperationClaim& claim, const std::string& reason,
                                        const std::string& peer) {
    guarded([&] { outcomes_.record_failure(claim, reason, peer); });
}

void StorageDeviceStore::audit(const AuditEvent& e) {
    guarded([&] { audit_.append_audit(e); });
}

void StorageDeviceStore::audit_unauthenticated(const AuditEvent& e) {
    guarded([&] { audit_.append_rate_limited_audit(e); });
}

}  // namespace capf
