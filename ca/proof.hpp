// Proof of possession as CAPF phones make it (protocol/README.md, sections 5.2
// and 5.3).
#pragma once

#include <botan/pk_keys.h>
#include <botan/rng.h>

#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace capf::ca {

enum class ProofHash { sha1, sha512 };

/// device name bytes, one 0x00, then the certificate DER.
std::vector<std::uint8_t> certificate_auth_data(const std::string& device_name,
                                                std::span<const std::uint8_t> certificate_der);
/// The session id as 4 bytes LITTLE-endian (a quirk of the original
/// server), then the SUDI certificate DER.
std::vector<std::uint8_t> sudi_auth_data(std::uint32_t session_id,
                                         std::span<const std::uint8_t> sudi_certificate_der);

/// RSA: PKCS#1 v1.5 type-1 padding over the bare digest, no DigestInfo
/// (Botan EMSA3(Raw)); ECDSA: an ordinary DER signature over the data.
std::vector<std::uint8_t> sign_proof(const Botan::Private_Key& key,
                                     std::span<const std::uint8_t> data, ProofHash hash,
                                     Botan::RandomNumberGenerator& rng);
/// The check matching sign_proof. False for a bad signature or an
/// unsupported key; never throws for malformed signatures.
bool verify_proof(const Botan::Public_Key& key, std::span<const std::uint8_t> data,
                  std::span<const std::uint8_t> signature, ProofHash hash);

}  // namespace capf::ca
