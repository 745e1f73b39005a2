#include "ca/verify.hpp"

#include <botan/hex.h>
#include <botan/pkix_types.h>
#include <botan/x509cert.h>

#include <algorithm>
#include <cctype>

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

std::string upper(std::string s) {
    std::transform(s.begin(), s.end(), s.begin(),
                   [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
    return s;
}

/// SEP001122334455 -> 001122334455; empty when the name carries no MAC.
std::string mac_of(const std::string& device_name) {
    const std::string name = upper(device_name);
    if (name.size() < 12)
        return {};
    const std::string mac = name.substr(name.size() - 12);
    const bool hex = std::all_of(mac.begin(), mac.end(), [](char c) {
        return std::isxdigit(static_cast<unsigned char>(c));
    });
    return hex ? mac : std::string();
}

}  // namespace

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
    }
    return "unknown";
}

Verification verify_presented_certificate(const TrustStore& trust, const std::string& device_name,
                                          const PresentedCertificate& p, std::uint32_t session_id,
                                          std::chrono::system_clock::time_point now) {
    std::optional<Botan::X509_Certificate> cert;
    try {
        cert.emplace(p.der);
    } catch (const std::exception& e) {
        return fail(AuthFailure::malformed_certificate,
                    std::string("certificate does not parse: ") + e.what());
    }

    const auto role = p.role == CertificateRole::lsc ? TrustRole::lsc_issuer : TrustRole::mic_root;
    bool chained = false;
    for (const auto& anchor : trust.anchors(role)) {
        if (anchor.subject_dn() == cert->issuer_dn() &&
            cert->check_signature(*anchor.load_subject_public_key())) {
            chained = true;
            break;
        }
    }
    if (!chained) {
        return fail(AuthFailure::untrusted_chain, "issuer " + dn_text(cert->issuer_dn()) +
                                                      " is not a trusted " +
                                                      std::string(trust_role_name(role)));
    }

    if (now < cert->not_before().to_std_timepoint() || now > cert->not_after().to_std_timepoint()) {
        return fail(AuthFailure::outside_validity, "valid " + cert->not_before().readable_string() +
                                                       " to " +
                                                       cert->not_after().readable_string());
    }

    const std::string cn = cert->subject_dn().get_first_attribute("X520.CommonName");
    if (p.role == CertificateRole::lsc) {
        if (upper(cn) != upper(device_name)) {
            return fail(AuthFailure::not_bound_to_device,
                        "LSC CN " + cn + " is not " + device_name);
        }
    } else {
        const std::string mac = mac_of(device_name);
        if (mac.empty() || upper(cn).find(mac) == std::string::npos) {
            return fail(AuthFailure::not_bound_to_device,
                        "MIC CN " + cn + " does not contain the MAC of " + device_name);
        }
    }

    const auto key = cert->load_subject_public_key();
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

    if (p.sudi) {
        std::optional<Botan::X509_Certificate> sudi;
        try {
            sudi.emplace(p.sudi->certificate_der);
        } catch (const std::exception& e) {
            return fail(AuthFailure::bad_sudi_proof,
                        std::string("SUDI certificate does not parse: ") + e.what());
        }
        const auto sudi_key = sudi->load_subject_public_key();
        if (sudi_key->algo_name() == "RSA") {  // a SUDI with another key type is ignored
            const auto sudi_data = sudi_auth_data(session_id, p.sudi->certificate_der);
            if (!verify_proof(*sudi_key, sudi_data, p.sudi->sha1_signature, ProofHash::sha1) ||
                p.sudi->sha2_hash_id != sha512_hash_id ||
                !verify_proof(*sudi_key, sudi_data, p.sudi->sha2_signature, ProofHash::sha512)) {
                return fail(AuthFailure::bad_sudi_proof,
                            "SUDI proof does not verify for this session");
            }
        }
    }

    Verification ok;
    ok.verified = VerifiedCertificate{cn, Botan::hex_encode(cert->serial_number(), false),
                                      cert->not_after().to_std_timepoint(),
                                      cert->subject_public_key_info(), md5_hex(p.der)};
    return ok;
}

}  // namespace capf::ca
