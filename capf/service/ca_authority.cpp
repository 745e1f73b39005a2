#include "capf/service/ca_authority.hpp"

#include <botan/x509cert.h>

#include "ca/error.hpp"
#include "ca/fingerprint.hpp"
#include "ca/verify.hpp"
#include "capf/common/log.hpp"

namespace capf {
namespace {

CertificateVerdict verdict_of(const std::string& device, const ca::VerifiedCertificate& v) {
    CertificateVerdict verdict{std::nullopt, v.serial_hex, v.public_key_der, {}};
    switch (v.sudi) {
        case ca::SudiEvidence::absent:
            break;
        case ca::SudiEvidence::verified:
            verdict.sudi_evidence = "sudi_verified";
            break;
        case ca::SudiEvidence::unverified:
            verdict.sudi_evidence = std::string(ca::sudi_evidence_text(v.sudi));
            // Said at every such session, not once: the operator who reads
            // the log learns that SUDIs arrive and nothing checks them.
            log::info("sudi_unverified", {{"device", device},
                                          {"detail", "no sudi-root anchor configured"},
                                          {"sudi_issuer", v.sudi_issuer}});
            break;
    }
    return verdict;
}

}  // namespace

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
        return verdict_of(device, *v.verified);
    log::info("certificate_refused", {{"device", device},
                                      {"cause", std::string(ca::auth_failure_name(*v.failure))},
                                      {"detail", v.detail}});
    return {std::string(ca::auth_failure_name(*v.failure)), {}, {}, {}};
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
