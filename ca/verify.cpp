#include "ca/verify.hpp"

#include <botan/hex.h>
#include <botan/pkix_types.h>
#include <botan/x509cert.h>

#include "ca/fingerprint.hpp"
#include "ca/names.hpp"
#include "ca/proof.hpp"

namespace capf::ca {
namespace {

constexpr std::uint8_t sha512_hash_id = 3;

Verification fail(AuthFailure f, std::string detail) {
    Verification v;
    v.failure = f;
    v.detail = std::move(detail);
    return v;
}

std::optional<Botan::X509_Certificate> parse_certificate(std::span<const std::uint8_t> der) {
    try {
        return Botan::X509_Certificate(der.data(), der.size());
    } catch (const std::exception&) {
        return std::nullopt;
    }
}

std::string common_name(const Botan::X509_Certificate& cert) {
    return cert.subject_dn().get_first_attribute("X520.CommonName");
}

/// The links path building may use: what the phone sent, then the
/// configured intermediates. None of them is trusted.
std::vector<Botan::X509_Certificate> untrusted_links(const TrustStore& trust,
                                                     std::vector<Botan::X509_Certificate> sent) {
    for (auto& configured : trust.anchors(TrustRole::intermediate))
        sent.push_back(std::move(configured));
    return sent;
}

/// The AuthFailure of a chain failure for the certificate being
/// authenticated (the SUDI maps every chain failure to sudi_untrusted).
AuthFailure auth_failure_of(ChainFailure f) {
    switch (f) {
        case ChainFailure::untrusted:
            return AuthFailure::untrusted_chain;
        case ChainFailure::weak:
            return AuthFailure::weak_chain;
        case ChainFailure::outside_validity:
            return AuthFailure::outside_validity;
    }
    return AuthFailure::untrusted_chain;
}

std::optional<Verification> check_chain(const TrustStore& trust, TrustRole role,
                                        const Botan::X509_Certificate& cert,
                                        const std::vector<Botan::X509_Certificate>& links,
                                        const ChainPolicy& policy,
                                        std::chrono::system_clock::time_point now,
                                        ValidityCheck validity) {
    const auto chain = validate_chain(cert, links, trust.anchors(role), policy, now, validity);
    if (chain.ok())
        return std::nullopt;
    return fail(
        auth_failure_of(*chain.failure),
        "no valid chain to a " + std::string(trust_role_name(role)) + " anchor: " + chain.detail);
}

std::optional<Verification> check_binding(CertificateRole role, const Botan::X509_Certificate& cert,
                                          const std::string& device_name) {
    const std::string cn = common_name(cert);
    if (role == CertificateRole::lsc) {
        if (!equals_ignoring_case(cn, device_name))
            return fail(AuthFailure::not_bound_to_device,
                        "LSC CN " + cn + " is not " + device_name);
    } else if (!names_device(cn, device_name)) {
        return fail(AuthFailure::not_bound_to_device,
                    "MIC CN " + cn + " does not name SEP<MAC> or the MAC of " + device_name);
    }
    return std::nullopt;
}

std::optional<Verification> check_proofs(const Botan::X509_Certificate& cert,
                                         const std::string& device_name,
                                         const PresentedCertificate& p) {
    const auto key = cert.load_subject_public_key();
    const auto data = certificate_auth_data(device_name, p.der);
    if (!verify_proof(*key, data, p.signed_data, ProofHash::sha1)) {
        return fail(AuthFailure::bad_sha1_proof,
                    "SIGNED_DATA does not verify with the certificate's key");
    }
    if (p.sha2_hash_id != sha512_hash_id) {
        return fail(
            AuthFailure::wrong_hash_id,
            "SHA2_SIGNED_DATA hash id " + std::to_string(p.sha2_hash_id) + ", must be 3 (SHA-512)");
    }
    if (!verify_proof(*key, data, p.sha2_signed_data, ProofHash::sha512)) {
        return fail(AuthFailure::bad_sha512_proof,
                    "SHA2_SIGNED_DATA does not verify with the certificate's key");
    }
    return std::nullopt;
}

/// Whether the SUDI names the device: its CN, its serialNumber attribute,
/// or one of its SAN DNS or URI entries.
bool sudi_names_device(const Botan::X509_Certificate& sudi, const std::string& device_name) {
    std::vector<std::string> names = {common_name(sudi)};
    for (const auto& serial : sudi.subject_dn().get_attribute("X520.SerialNumber"))
        names.push_back(serial);
    const auto san = sudi.subject_alt_name();
    for (const char* kind : {"DNS", "URI"}) {
        for (const auto& entry : san.get_attribute(kind))
            names.push_back(entry);
    }
    for (const auto& name : names) {
        if (names_device(name, device_name))
            return true;
    }
    return false;
}

struct SudiOutcome {
    std::optional<Verification> failure;
    SudiEvidence evidence = SudiEvidence::absent;
    std::string issuer;
};

SudiOutcome sudi_refused(Verification failure) {
    SudiOutcome out;
    out.failure = std::move(failure);
    return out;
}

/// Protocol 5.3: a SUDI that is sent must prove itself, chain to a SUDI
/// root and name the device; a non-RSA SUDI is ignored (treated as absent).
/// A proof that fails is refused whatever is configured: that is tampering
/// or a replay, not missing configuration. Without any sudi-root anchor
/// (and no require_sudi) the chain cannot be checked: the SUDI is kept as
/// unverified evidence. Its names are not checked then either: unverified,
/// they are the phone's own claim and prove nothing either way.
SudiOutcome check_sudi(const TrustStore& trust, const std::string& device_name,
                       const PresentedCertificate& p, std::uint32_t session_id,
                       const std::vector<Botan::X509_Certificate>& links,
                       const VerifyPolicy& policy, std::chrono::system_clock::time_point now) {
    const auto absent = [&](const std::string& why) -> SudiOutcome {
        if (policy.require_sudi)
            return sudi_refused(fail(AuthFailure::sudi_missing, why + ", and a SUDI is required"));
        return {};
    };
    if (!p.sudi)
        return absent("no SUDI sent");
    const auto sudi = parse_certificate(p.sudi->certificate_der);
    if (!sudi)
        return sudi_refused(fail(AuthFailure::bad_sudi_proof, "SUDI certificate does not parse"));
    const auto key = sudi->load_subject_public_key();
    if (key->algo_name() != "RSA")
        return absent("the SUDI has a " + key->algo_name() + " key, which 5.3 ignores");

    const auto data = sudi_auth_data(session_id, p.sudi->certificate_der);
    if (!verify_proof(*key, data, p.sudi->sha1_signature, ProofHash::sha1) ||
        p.sudi->sha2_hash_id != sha512_hash_id ||
        !verify_proof(*key, data, p.sudi->sha2_signature, ProofHash::sha512)) {
        return sudi_refused(
            fail(AuthFailure::bad_sudi_proof, "SUDI proof does not verify for this session"));
    }
    // One snapshot for the decision and the validation: an anchor added in
    // between must not let a chain be validated against nothing.
    const auto roots = trust.anchors(TrustRole::sudi_root);
    if (roots.empty() && !policy.require_sudi)
        return {std::nullopt, SudiEvidence::unverified, dn_text(sudi->issuer_dn())};
    const auto chain = validate_chain(*sudi, links, roots, policy.sudi, now);
    if (!chain.ok()) {
        return sudi_refused(fail(AuthFailure::sudi_untrusted,
                                 "SUDI has no valid chain to a sudi-root anchor: " + chain.detail));
    }
    if (!sudi_names_device(*sudi, device_name)) {
        return sudi_refused(
            fail(AuthFailure::sudi_not_bound_to_device,
                 "SUDI " + dn_text(sudi->subject_dn()) + " does not name " + device_name));
    }
    return {std::nullopt, SudiEvidence::verified, dn_text(sudi->issuer_dn())};
}

Verification verified(const Botan::X509_Certificate& cert, std::span<const std::uint8_t> der,
                      CertificateRole role, const SudiOutcome& sudi = {}) {
    Verification ok;
    ok.verified = VerifiedCertificate{common_name(cert),
                                      Botan::hex_encode(cert.serial_number(), false),
                                      cert.not_after().to_std_timepoint(),
                                      cert.subject_public_key_info(),
                                      md5_hex(der),
                                      role,
                                      sudi.evidence,
                                      sudi.issuer};
    return ok;
}

Verification verify_unguarded(const TrustStore& trust, const std::string& device_name,
                              const PresentedCertificate& p, std::uint32_t session_id,
                              const VerifyPolicy& policy,
                              std::chrono::system_clock::time_point now) {
    const auto cert = parse_certificate(p.der);
    if (!cert)
        return fail(AuthFailure::malformed_certificate, "certificate does not parse");
    std::vector<Botan::X509_Certificate> sent;
    for (std::size_t i = 0; i < p.intermediates.size(); ++i) {
        auto link = parse_certificate(p.intermediates[i]);
        if (!link) {
            return fail(AuthFailure::malformed_certificate,
                        "intermediate certificate #" + std::to_string(i + 1) + " does not parse");
        }
        sent.push_back(std::move(*link));
    }
    const auto links = untrusted_links(trust, std::move(sent));

    const bool lsc = p.role == CertificateRole::lsc;
    if (auto f = check_chain(trust, lsc ? TrustRole::lsc_issuer : TrustRole::mic_root, *cert, links,
                             lsc ? policy.lsc : policy.mic, now, ValidityCheck::enforce))
        return *f;
    if (auto f = check_binding(p.role, *cert, device_name))
        return *f;
    if (auto f = check_proofs(*cert, device_name, p))
        return *f;
    auto sudi = check_sudi(trust, device_name, p, session_id, links, policy, now);
    if (sudi.failure)
        return *sudi.failure;
    return verified(*cert, p.der, p.role, sudi);
}

}  // namespace

std::string_view sudi_evidence_text(SudiEvidence e) noexcept {
    switch (e) {
        case SudiEvidence::absent:
            return "absent";
        case SudiEvidence::verified:
            return "verified";
        case SudiEvidence::unverified:
            return "sudi_unverified: no sudi-root anchor configured";
    }
    return "unknown";
}

std::string_view auth_failure_name(AuthFailure f) noexcept {
    switch (f) {
        case AuthFailure::malformed_certificate:
            return "malformed_certificate";
        case AuthFailure::untrusted_chain:
            return "untrusted_chain";
        case AuthFailure::outside_validity:
            return "outside_validity";
        case AuthFailure::not_bound_to_device:
            return "not_bound_to_device";
        case AuthFailure::bad_sha1_proof:
            return "bad_sha1_proof";
        case AuthFailure::wrong_hash_id:
            return "wrong_hash_id";
        case AuthFailure::bad_sha512_proof:
            return "bad_sha512_proof";
        case AuthFailure::bad_sudi_proof:
            return "bad_sudi_proof";
        case AuthFailure::weak_chain:
            return "weak_chain";
        case AuthFailure::sudi_missing:
            return "sudi_missing";
        case AuthFailure::sudi_untrusted:
            return "sudi_untrusted";
        case AuthFailure::sudi_not_bound_to_device:
            return "sudi_not_bound_to_device";
    }
    return "unknown";
}

Verification verify_presented_certificate(const TrustStore& trust, const std::string& device_name,
                                          const PresentedCertificate& p, std::uint32_t session_id,
                                          const VerifyPolicy& policy,
                                          std::chrono::system_clock::time_point now) {
    try {
        return verify_unguarded(trust, device_name, p, session_id, policy, now);
    } catch (const std::exception& e) {
        // A key Botan cannot load, for instance: the certificate is unusable.
        return fail(AuthFailure::malformed_certificate,
                    std::string("certificate cannot be used: ") + e.what());
    }
}

Verification check_fetched_certificate(const TrustStore& trust, const std::string& device_name,
                                       std::span<const std::uint8_t> der,
                                       const VerifyPolicy& policy,
                                       std::chrono::system_clock::time_point now) {
    try {
        const auto cert = parse_certificate(der);
        if (!cert)
            return fail(AuthFailure::malformed_certificate, "certificate does not parse");
        const auto links = untrusted_links(trust, {});
        // Tried as an LSC first, then as a MIC; the first refusal that is not
        // "no chain" is the one reported (it says more).
        std::optional<Verification> refusal;
        for (const auto role : {CertificateRole::lsc, CertificateRole::mic}) {
            const bool lsc = role == CertificateRole::lsc;
            auto f = check_chain(trust, lsc ? TrustRole::lsc_issuer : TrustRole::mic_root, *cert,
                                 links, lsc ? policy.lsc : policy.mic, now, ValidityCheck::ignore);
            if (!f)
                f = check_binding(role, *cert, device_name);
            if (!f)
                return verified(*cert, der, role);
            if (!refusal || (refusal->failure == AuthFailure::untrusted_chain &&
                             f->failure != AuthFailure::untrusted_chain))
                refusal = std::move(f);
        }
        return *refusal;
    } catch (const std::exception& e) {
        return fail(AuthFailure::malformed_certificate,
                    std::string("certificate cannot be used: ") + e.what());
    }
}

}  // namespace capf::ca
