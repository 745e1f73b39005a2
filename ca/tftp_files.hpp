// What the TFTP side serves, built and signed (protocol/README.md, sections
// 8 and 9): SEP<MAC>.cnf.xml.enc.sgn, signed .sgn files and ITLFile.tlv. The
// signer is the TFTP-role identity, RSA only: phones verify these
// signatures with RSA.
#pragma once

#include <botan/pkix_types.h>
#include <botan/rng.h>
#include <botan/x509cert.h>

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "ca/identity.hpp"
#include "ca/key_spec.hpp"
#include "protocol/signed_file.hpp"

namespace capf::ca {

/// A distinguished name as section 8.1 writes it: RFC 4514 (RDNs last to
/// first, comma-joined without spaces, multi-valued RDNs joined with '+',
/// specials escaped; types without an RFC 4514 short name as dotted OID and
/// '#' + the hex of the value's BER). Not ca::dn_text, which keeps
/// certificate order and joins with ", " for people to read.
std::string rfc4514_name(const Botan::X509_DN& dn);

/// Throws CaError(unsupported_key_spec) naming the key when the identity
/// cannot sign TFTP files: not RSA, or RSA outside 1024..4096 bits.
void require_tftp_signing_key(const Identity& identity);

/// Key specs `capfd init --tftp` accepts: rsa-1024 .. rsa-4096.
std::vector<KeySpec> tftp_key_specs();

struct SignedFileOptions {
    protocol::FileHash hash = protocol::FileHash::sha512;
    std::uint32_t timestamp = 0;  ///< seconds since 1970
};

/// SEP<MAC>.cnf.xml.enc.sgn (8.2): a fresh AES-128 key and IV, the XML
/// padded with '\r' to a multiple of 16 (a whole block when aligned), the key
/// wrapped with the device's RSA public key (SubjectPublicKeyInfo DER,
/// PKCS#1 v1.5), the digest of the unpadded XML, signed by `signer`. Throws
/// CaError(key_mismatch) naming the key type when the device key is not RSA.
std::vector<std::uint8_t> build_encrypted_config(
    std::string_view xml, std::span<const std::uint8_t> device_public_key_der,
    const std::string& file_name, const Identity& signer, const SignedFileOptions& options,
    Botan::RandomNumberGenerator& rng);

/// A .sgn file (8.1, version 1.0) of `payload`, signed by `signer`.
std::vector<std::uint8_t> build_signed_file(std::span<const std::uint8_t> payload,
                                            const std::string& file_name, const Identity& signer,
                                            const SignedFileOptions& options,
                                            Botan::RandomNumberGenerator& rng);

struct ItlEntry {
    Botan::X509_Certificate certificate;
    protocol::ItlRole role = protocol::ItlRole::sast;
};

/// A trust list (sections 9 and 10): header 1.2 with signer version 1.0,
/// file name element `file_name` (protocol::itl_file_name or
/// protocol::ctl_file_name), signed by `signer`, one record per entry in
/// order. The caller lists the signer as a SAST record.
std::vector<std::uint8_t> build_trust_list(const std::vector<ItlEntry>& entries,
                                           const Identity& signer, const std::string& file_name,
                                           const SignedFileOptions& options,
                                           Botan::RandomNumberGenerator& rng);

/// ITLFile.tlv (9): build_trust_list with the ITL's file name.
std::vector<std::uint8_t> build_itl(const std::vector<ItlEntry>& entries, const Identity& signer,
                                    const SignedFileOptions& options,
                                    Botan::RandomNumberGenerator& rng);

/// The TFTP certificate as SAST and as TFTP, the CAPF certificate as CAPF.
std::vector<ItlEntry> minimal_itl_entries(const Identity& tftp,
                                          const Botan::X509_Certificate& capf);

/// The rollback ITL's records (protocol/README.md, "Rollback ITL"): the
/// TFTP certificate as SAST only (phones need it to verify the file), the
/// CAPF certificate as CAPF, then `others` without their TFTP, CCM+TFTP
/// and TVS records.
std::vector<ItlEntry> rollback_itl_entries(const Identity& tftp,
                                           const Botan::X509_Certificate& capf,
                                           const std::vector<ItlEntry>& others);

/// Whether the header signature of a signed file (or ITL) verifies with `cert`.
bool verify_signed_file(std::span<const std::uint8_t> whole_file,
                        const Botan::X509_Certificate& cert);

}  // namespace capf::ca
