#include "capf/service/ca_authority.hpp"

#include <botan/x509cert.h>

#include "ca/error.hpp"
#include "ca/fingerprint.hpp"
#include "ca/verify.hpp"
#include "capf/common/log.hpp"

namespace capf {

CertificateVerdict CaAuthority::verify_presented(const std::string& device,
                                                 const PresentedCertificate& p,
                                                 std::uint32_t session_id) {
    ca::PresentedCertificate presented;
    presented.role =
        p.role == CertificateRole::mic ? ca::CertificateRole::mic : ca::CertificateRole::lsc;
    presented.der = p.der;
    presented.signed_data = p.signed_data;
    presented.sha2_hash_id = p.sha2_hash_id;
    presented.sha2_signed_data = p.sha2_signed_data;
    presented.intermediates = p.intermediates;
    if (p.sudi) {
        presented.sudi =
            ca::SudiProof{p.sudi->certificate_der, p.sudi->sha1_signature,
                          static_cast<std::uint8_t>(p.sudi->sha2_hash), p.sudi->sha2_signature};
    }
    ca::VerifyPolicy policy = policy_;
    policy.require_sudi = policy_.require_sudi || p.require_sudi;
    const auto v = ca::verify_presented_certificate(trust_, device, presented, session_id, policy);
    if (v.ok())
        return {std::nullopt, v.verified->serial_hex, v.verified->public_key_der};
    log::info("certificate_refused", {{"device", device},
                                      {"cause", std::string(ca::auth_failure_name(*v.failure))},
                                      {"detail", v.detail}});
    return {std::string(ca::auth_failure_name(*v.failure)), {}, {}};
}

VerificationFailure CaAuthority::check_fetched(const std::string& device,
                                               const std::vector<std::uint8_t>& der) {
    const auto v = ca::check_fetched_certificate(trust_, device, der, policy_);
    if (v.ok())
        return std::nullopt;
    log::info("fetched_certificate_refused",
              {{"device", device},
               {"cause", std::string(ca::auth_failure_name(*v.failure))},
               {"detail", v.detail}});
    return std::string(ca::auth_failure_name(*v.failure));
}

IssuedCertificateRecord CaAuthority::issue_lsc(const std::string& device,
                                               const std::vector<std::uint8_t>& public_key_der,
                                               const ca::KeySpec& requested) {
    try {
        const auto lsc = issuer_.issue_lsc(device, public_key_der, requested, validity_days_);
        return IssuedCertificateRecord{lsc.serial_hex,     lsc.der,
                                       lsc.not_before,     lsc.not_after,
                                       lsc.public_key_der, lsc.md5_hex};
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
