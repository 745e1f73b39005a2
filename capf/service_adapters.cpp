#include "capf/service_adapters.hpp"

#include <botan/x509cert.h>

#include "ca/error.hpp"
#include "ca/fingerprint.hpp"
#include "ca/verify.hpp"
#include "capf/auth_string.hpp"
#include "capf/log.hpp"
#include "storage/error.hpp"

namespace capf {
namespace {

template <typename F>
auto guarded(F&& f) -> decltype(f()) {
    try {
        return f();
    } catch (const storage::StorageError& e) {
        if (e.code() == storage::StorageErrc::unreachable ||
            e.code() == storage::StorageErrc::pool_exhausted) {
            throw StoreUnavailable(e.what());
        }
        throw;
    }
}

storage::OperationClaim storage_claim(const OperationClaim& c) {
    storage::OperationClaim s;
    s.device = c.device;
    s.operation = storage_operation(c.operation);
    s.key_spec = c.key_spec.text();
    s.node = c.node;
    return s;
}

storage::IssuedCertificateRecord record_of(const IssuedCertificate& c) {
    return storage::IssuedCertificateRecord{c.serial_hex,     c.der,    c.not_before, c.not_after,
                                            c.public_key_der, c.md5_hex};
}

}  // namespace

std::optional<KeySpec> key_spec_of(std::string_view text) {
    return parse_key_spec(text);
}

ca::KeySpec ca_key_spec(const KeySpec& spec) {
    return spec.type == KeySpec::Type::rsa ? ca::KeySpec{ca::KeySpec::Algorithm::rsa, spec.rsa_bits}
                                           : ca::KeySpec{ca::KeySpec::Algorithm::ec, spec.ec_bits};
}

Operation operation_of(storage::Operation op) {
    switch (op) {
        case storage::Operation::none:
            return Operation::none;
        case storage::Operation::install:
            return Operation::install;
        case storage::Operation::fetch:
            return Operation::fetch;
        case storage::Operation::remove:
            return Operation::remove;
    }
    return Operation::none;
}

storage::Operation storage_operation(Operation op) {
    switch (op) {
        case Operation::none:
            return storage::Operation::none;
        case Operation::install:
            return storage::Operation::install;
        case Operation::fetch:
            return storage::Operation::fetch;
        case Operation::remove:
            return storage::Operation::remove;
    }
    return storage::Operation::none;
}

AuthMode auth_mode_of(storage::AuthMode mode) {
    switch (mode) {
        case storage::AuthMode::null_string:
            return AuthMode::null_string;
        case storage::AuthMode::auth_string:
            return AuthMode::auth_string;
        case storage::AuthMode::lsc:
            return AuthMode::lsc;
        case storage::AuthMode::mic:
            return AuthMode::mic;
        case storage::AuthMode::lsc_or_mic:
            return AuthMode::lsc_or_mic;
    }
    return AuthMode::null_string;
}

storage::AuthMode storage_auth_mode(AuthMode mode) {
    switch (mode) {
        case AuthMode::null_string:
            return storage::AuthMode::null_string;
        case AuthMode::auth_string:
            return storage::AuthMode::auth_string;
        case AuthMode::lsc:
            return storage::AuthMode::lsc;
        case AuthMode::mic:
            return storage::AuthMode::mic;
        case AuthMode::lsc_or_mic:
            return storage::AuthMode::lsc_or_mic;
    }
    return storage::AuthMode::null_string;
}

std::optional<DeviceForSession> StorageDeviceStore::find_device(const std::string& name) {
    return guarded([&]() -> std::optional<DeviceForSession> {
        const auto d = repo_.find_device(name);
        if (!d)
            return std::nullopt;
        DeviceForSession out;
        out.name = d->name;
        out.operation = operation_of(d->pending_operation);
        out.auth_mode = auth_mode_of(d->auth_mode);
        out.key_spec = key_spec_of(d->key_spec).value_or(KeySpec{});
        out.deadline_passed =
            d->operation_deadline && *d->operation_deadline <= std::chrono::system_clock::now();
        return out;
    });
}

AuthStringCheck StorageDeviceStore::check_auth_string(const std::string& device,
                                                      const std::string& auth_string) {
    return guarded([&] {
        const auto d = repo_.find_device(device);
        if (!d)
            return AuthStringCheck::none_set;
        if (d->auth_locked)
            return AuthStringCheck::locked_out;
        const auto hash = repo_.auth_string_hash(device);
        if (!hash)
            return AuthStringCheck::none_set;
        if (capf::check_auth_string(auth_string, *hash)) {
            repo_.consume_auth_string(device);  // single use
            return AuthStringCheck::accepted;
        }
        repo_.record_auth_failure(device, settings_.lockout_failures);
        return AuthStringCheck::mismatch;
    });
}

std::optional<OperationClaim> StorageDeviceStore::claim_operation(const std::string& device,
                                                                  const std::string& node) {
    {
        const std::lock_guard lock(holding_mutex_);
        if (!holding_.insert(device).second)
            return std::nullopt;  // another session of this process runs it
    }
    std::optional<OperationClaim> out;
    try {
        out = guarded([&]() -> std::optional<OperationClaim> {
            const auto c = repo_.claim_pending_operation(device, node, settings_.lease,
                                                         /*take_own_lease=*/true);
            if (!c)
                return std::nullopt;
            return OperationClaim{c->device, operation_of(c->operation),
                                  key_spec_of(c->key_spec).value_or(KeySpec{}), c->node};
        });
    } catch (...) {
        const std::lock_guard lock(holding_mutex_);
        holding_.erase(device);
        throw;
    }
    if (!out) {
        const std::lock_guard lock(holding_mutex_);
        holding_.erase(device);
    }
    return out;
}

void StorageDeviceStore::release_claim(const OperationClaim& claim) {
    const std::lock_guard lock(holding_mutex_);
    holding_.erase(claim.device);
}

void StorageDeviceStore::record_issued(const OperationClaim& claim, const IssuedCertificate& cert) {
    guarded([&] { repo_.record_certificate_issued(storage_claim(claim), record_of(cert), ""); });
}

void StorageDeviceStore::record_store_confirmed(const OperationClaim& claim,
                                                const IssuedCertificate& cert) {
    guarded([&] { repo_.record_store_confirmed(storage_claim(claim), record_of(cert), ""); });
}

void StorageDeviceStore::record_fetched(const OperationClaim& claim,
                                        const std::vector<std::uint8_t>& der,
                                        const std::string& md5_hex,
                                        const std::vector<std::uint8_t>& public_key_der) {
    guarded([&] {
        repo_.record_fetched_certificate(storage_claim(claim), der, md5_hex, public_key_der, "");
    });
}

void StorageDeviceStore::record_deleted(const OperationClaim& claim) {
    guarded([&] { repo_.record_delete_confirmed(storage_claim(claim), ""); });
}

void StorageDeviceStore::record_failure(const OperationClaim& claim, const std::string& reason) {
    guarded([&] { repo_.record_failure(storage_claim(claim), reason, ""); });
}

void StorageDeviceStore::audit(const AuditEvent& e) {
    guarded([&] {
        repo_.append_audit(storage::AuditEvent{e.device, e.peer, settings_.node, e.event, e.outcome,
                                               e.detail, std::nullopt});
    });
}

VerificationFailure CaAuthority::verify_presented(const std::string& device,
                                                  const PresentedCertificate& p,
                                                  std::uint32_t session_id) {
    ca::PresentedCertificate presented;
    presented.role =
        p.role == CertificateRole::mic ? ca::CertificateRole::mic : ca::CertificateRole::lsc;
    presented.der = p.der;
    presented.signed_data = p.signed_data;
    presented.sha2_hash_id = p.sha2_hash_id;
    presented.sha2_signed_data = p.sha2_signed_data;
    if (p.sudi) {
        presented.sudi =
            ca::SudiProof{p.sudi->certificate_der, p.sudi->sha1_signature,
                          static_cast<std::uint8_t>(p.sudi->sha2_hash), p.sudi->sha2_signature};
    }
    const auto v = ca::verify_presented_certificate(trust_, device, presented, session_id);
    if (v.ok())
        return std::nullopt;
    log::info("certificate_refused", {{"device", device},
                                      {"cause", std::string(ca::auth_failure_name(*v.failure))},
                                      {"detail", v.detail}});
    return std::string(ca::auth_failure_name(*v.failure));
}

IssuedCertificate CaAuthority::issue_lsc(const std::string& device,
                                         const std::vector<std::uint8_t>& public_key_der,
                                         const KeySpec& requested) {
    try {
        const auto lsc =
            issuer_.issue_lsc(device, public_key_der, ca_key_spec(requested), validity_days_);
        return IssuedCertificate{lsc.der,       lsc.serial_hex,     lsc.not_before,
                                 lsc.not_after, lsc.public_key_der, lsc.md5_hex};
    } catch (const ca::CaError& e) {
        if (e.code() == ca::CaErrc::key_mismatch || e.code() == ca::CaErrc::malformed_public_key) {
            throw KeyRejected(e.what());
        }
        throw;
    }
}

std::optional<std::pair<std::string, std::vector<std::uint8_t>>> CaAuthority::describe_certificate(
    const std::vector<std::uint8_t>& der) {
    try {
        const Botan::X509_Certificate cert(der);
        return std::make_pair(ca::md5_hex(der), cert.subject_public_key_info());
    } catch (const std::exception&) {
        return std::nullopt;
    }
}

}  // namespace capf
