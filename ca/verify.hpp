// Authenticating a phone by the certificate it presents (protocol/README.md,
// sections 5.2 and 5.3).
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "ca/binding.hpp"
#include "ca/chain.hpp"
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
    weak_chain,             ///< a key below min_rsa_bits, or a SHA-1 signature not accepted
    sudi_missing,           ///< require_sudi, and no SUDI (or only a non-RSA one, which is ignored)
    sudi_untrusted,         ///< the SUDI does not chain to a sudi_root anchor under the SUDI policy
    sudi_not_bound_to_device,  ///< the SUDI names another device (or none)
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
    /// DER certificates the phone sent to complete the chain (untrusted:
    /// they must chain to an anchor like any other link).
    std::vector<std::vector<std::uint8_t>> intermediates;
};

/// What the SUDI of an authentication amounted to (protocol/README.md, 5.3).
enum class SudiEvidence {
    absent,      ///< none sent, or a non-RSA one (which 5.3 ignores)
    verified,    ///< proof, chain to a sudi-root anchor and device name all hold
    unverified,  ///< its proof holds, but no sudi-root anchor is configured to check
                 ///< the chain against and none is required: accepted as evidence only
};

/// "absent", "verified", "sudi_unverified: no sudi-root anchor configured":
/// the form the log and the audit show.
std::string_view sudi_evidence_text(SudiEvidence e) noexcept;

struct VerifiedCertificate {
    std::string subject_cn;
    std::string serial_hex;
    std::chrono::system_clock::time_point not_after;
    std::vector<std::uint8_t> public_key_der;
    std::string md5_hex;
    CertificateRole role = CertificateRole::lsc;  ///< the role whose anchors it chained to
    SudiEvidence sudi = SudiEvidence::absent;
    std::string
        sudi_issuer;  ///< the SUDI's issuer (RFC 4514 text) unless absent: the root to import
};

/// Chain policy per role, and whether a SUDI is mandatory. The defaults are
/// legacy for every role: real phones' MICs need 1024-bit keys and SHA-1.
struct VerifyPolicy {
    ChainPolicy lsc = legacy_chain_policy();
    ChainPolicy mic = legacy_chain_policy();
    ChainPolicy sudi = legacy_chain_policy();
    bool require_sudi = false;
};

struct Verification {
    std::optional<VerifiedCertificate> verified;  ///< set on success
    std::optional<AuthFailure> failure;           ///< set on failure
    std::string detail;                           ///< what exactly, for the log

    bool ok() const noexcept { return verified.has_value(); }
};

/// Checks, in order: the certificate (and each intermediate the phone sent)
/// parses; it chains, by Botan's path validation at `now` under the role's
/// policy, to an anchor of its role (LSC: TrustRole::lsc_issuer, MIC:
/// TrustRole::mic_root), the sent and the configured intermediates
/// (TrustRole::intermediate) serving as untrusted links; it belongs to
/// `device_name` (LSC: CN equals the name ignoring case; MIC:
/// names_device(CN)); both proofs of possession verify; then the SUDI
/// (protocol 5.3): an RSA SUDI must prove itself for `session_id`, chain to
/// a TrustRole::sudi_root anchor under policy.sudi and name the device
/// (CN, serialNumber or a SAN DNS/URI entry); a non-RSA SUDI is ignored,
/// i.e. treated as absent. With policy.require_sudi an absent SUDI fails.
/// With no sudi_root anchor in `trust` and policy.require_sudi off, a SUDI
/// whose proof holds is SudiEvidence::unverified and not refused: there is
/// nothing to check its chain against, and refusing it would refuse every
/// SUDI-capable phone of an installation that never configured SUDI roots.
/// Never throws for bad input.
Verification verify_presented_certificate(
    const TrustStore& trust, const std::string& device_name, const PresentedCertificate& presented,
    std::uint32_t session_id, const VerifyPolicy& policy,
    std::chrono::system_clock::time_point now = std::chrono::system_clock::now());

/// Whether `der` belongs to `device_name`: it parses, chains to an lsc_issuer (and then CN == name)
/// or to a mic_root (configured intermediates allowed; then names_device(CN)), under the role's
/// policy. Validity dates are NOT enforced (an expired certificate still belongs to the device;
/// fetch is for troubleshooting). Never throws for bad input. On success `verified->role` says
/// which role it chained to.
Verification check_fetched_certificate(
    const TrustStore& trust, const std::string& device_name, std::span<const std::uint8_t> der,
    const VerifyPolicy& policy,
    std::chrono::system_clock::time_point now = std::chrono::system_clock::now());

}  // namespace capf::ca
