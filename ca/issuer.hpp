// Issuing LSCs (protocol/README.md, section 7).
#pragma once

#include <botan/asn1_obj.h>
#include <botan/pk_keys.h>

#include <chrono>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "ca/identity.hpp"
#include "ca/key_spec.hpp"

namespace capf::ca {

struct IssuedLsc {
    std::vector<std::uint8_t> der;
    std::string serial_hex;  ///< lowercase hex, no leading zeros beyond one byte
    std::chrono::system_clock::time_point not_before;
    std::chrono::system_clock::time_point not_after;
    std::vector<std::uint8_t> public_key_der;  ///< the phone's SubjectPublicKeyInfo
    std::string md5_hex;                       ///< certHash for the TFTP files
};

/// Signs LSCs with one issuer identity. Thread-safe: each call signs with
/// its thread's signer and random generator (ca/signer_cache.hpp), set up
/// once per thread rather than once per certificate.
class LscIssuer {
  public:
    /// Throws CaError(not_a_ca, issuer_expired) for an issuer that cannot sign.
    explicit LscIssuer(Identity issuer);

    /// Checks that `spki_der` is exactly the key that was requested, then
    /// issues: subject CN = device name then O, OU, L, ST, C from the
    /// issuer; random 128-bit positive serial; valid from `now` for
    /// `validity_days`, clipped at the issuer's expiry; CA:FALSE, keyUsage
    /// digitalSignature + keyEncipherment, EKU serverAuth + clientAuth +
    /// IPsec end system, SAN URI = device name; SHA-256 signature.
    /// Throws CaError(malformed_public_key) or CaError(key_mismatch) saying
    /// what was expected and what arrived.
    IssuedLsc issue_lsc(
        const std::string& device_name, std::span<const std::uint8_t> spki_der,
        const KeySpec& requested, unsigned validity_days,
        std::chrono::system_clock::time_point now = std::chrono::system_clock::now()) const;

    const Identity& issuer() const noexcept { return issuer_; }

  private:
    Identity issuer_;
    /// How the issuer's key signs: chosen once, as Botan's choose_sig_format
    /// would for SHA-256 (EMSA3 for RSA, EMSA1 in DER for ECDSA).
    std::string padding_;
    Botan::Signature_Format format_ = Botan::IEEE_1363;
    Botan::AlgorithmIdentifier signature_algorithm_;
};

}  // namespace capf::ca
