// Authenticating a phone by the certificate it presents (protocol/README.md,
// sections 5.2 and 5.3).
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ca/trust_store.hpp"

namespace capf::ca {

enum class CertificateRole { lsc, mic };

/// Each way a presented certificate can fail, distinct so that the audit log
/// names the precise cause.
enum class AuthFailure {
    malformed_certificate,  ///< the DER does not parse
    untrusted_chain,        ///< not issued by an anchor of its role
    outside_validity,       ///< expired or not yet valid
    not_bound_to_device,    ///< LSC CN != device name; MIC CN without the device's MAC
    bad_sha1_proof,         ///< SIGNED_DATA does not verify
    wrong_hash_id,          ///< SHA2_SIGNED_DATA not marked SHA-512 (hash id 3)
    bad_sha512_proof,       ///< SHA2_SIGNED_DATA does not verify
    bad_sudi_proof,         ///< SUDI data present but its proof fails
};

std::string_view auth_failure_name(AuthFailure f) noexcept;  ///< e.g. "untrusted_chain"

struct SudiProof {
    std::vector<std::uint8_t> certificate_der;
    std::vector<std::uint8_t> sha1_signature;
    std::uint8_t sha2_hash_id = 0;
    std::vector<std::uint8_t> sha2_signature;
};

struct PresentedCertificate {
    CertificateRole role = CertificateRole::lsc;
    std::vector<std::uint8_t> der;
    std::vector<std::uint8_t> signed_data;
    std::uint8_t sha2_hash_id = 0;
    std::vector<std::uint8_t> sha2_signed_data;
    std::optional<SudiProof> sudi;
};

struct VerifiedCertificate {
    std::string subject_cn;
    std::string serial_hex;
    std::chrono::system_clock::time_point not_after;
    std::vector<std::uint8_t> public_key_der;
    std::string md5_hex;
};

struct Verification {
    std::optional<VerifiedCertificate> verified;  ///< set on success
    std::optional<AuthFailure> failure;           ///< set on failure
    std::string detail;                           ///< what exactly, for the log

    bool ok() const noexcept { return verified.has_value(); }
};

/// Checks, in order: the certificate parses; it was issued by an anchor of
/// its role (LSC: TrustRole::lsc_issuer, MIC: TrustRole::mic_root); `now` is
/// within its validity; it belongs to `device_name`; both proofs of
/// possession verify; and, when present, the SUDI proof (RSA only; a SUDI
/// with another key type is ignored). Never throws for bad input.
Verification verify_presented_certificate(
    const TrustStore& trust, const std::string& device_name, const PresentedCertificate& presented,
    std::uint32_t session_id,
    std::chrono::system_clock::time_point now = std::chrono::system_clock::now());

}  // namespace capf::ca
