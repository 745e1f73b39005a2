// CAPF identities: a certificate chain with its private key. The CAPF
// identity is presented in TLS; the issuer identity signs LSCs (the same one
// unless configured otherwise, e.g. an intermediate under an enterprise root).
#pragma once

#include <botan/pk_keys.h>
#include <botan/x509cert.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "ca/key_spec.hpp"

namespace capf::ca {

struct Identity {
    /// The leaf first, then any intermediates.
    std::vector<Botan::X509_Certificate> chain;
    std::shared_ptr<Botan::Private_Key> key;

    const Botan::X509_Certificate& certificate() const { return chain.front(); }
};

/// Where the passphrase of an encrypted key comes from (never the config).
struct Passphrase {
    std::optional<std::filesystem::path> file;  ///< first line of this file
    std::optional<std::string> env;             ///< value of this environment variable
};

/// The configured passphrase, or nothing when none is configured. A
/// passphrase file must be the owner's alone. Throws CaError:
/// key_file_too_open naming the file, its mode and "chmod 600" when group or
/// others may read it; file_unreadable; bad_passphrase when the environment
/// variable is not set.
std::optional<std::string> read_passphrase(const Passphrase& passphrase);

/// Loads a PEM certificate chain and a PKCS#8 PEM key (maybe encrypted).
/// Throws CaError: file_unreadable naming the file, key_file_too_open when
/// group or others may read the key or the passphrase file, bad_passphrase,
/// identity_mismatch when the key is not the certificate's.
Identity load_identity(const std::filesystem::path& certificate_file,
                       const std::filesystem::path& key_file, const Passphrase& passphrase = {});

/// Checks that an identity may sign LSCs: CA:TRUE, keyCertSign, not expired.
/// Throws CaError(not_a_ca or issuer_expired).
void check_issuer(const Identity& issuer, std::chrono::system_clock::time_point now);

/// What a generated identity is for.
enum class IdentityRole {
    /// The CAPF identity: TLS to phones and, unless configured otherwise,
    /// the LSC issuer.
    capf,
    /// The TFTP signer of .sgn, .enc.sgn and ITLFile.tlv (protocol/README.md,
    /// sections 8-9). It signs files, never certificates: CA:FALSE and
    /// keyUsage digitalSignature only, so that check_issuer refuses it as an
    /// LSC issuer. RSA 1024, 2048 or 4096 (ca::tftp_key_specs()).
    tftp,
    /// The Trust Verification Service's TLS certificate (the ITL's TVS
    /// record): a TLS server, never an issuer, so CA:FALSE; keyUsage
    /// digitalSignature (and keyEncipherment for RSA, as for CAPF). Any of
    /// ca::identity_key_specs().
    tvs,
};

struct IdentityProfile {
    /// RFC 4514-ish attributes: CN is required; O, OU, L, ST, C optional.
    std::string common_name = "CAPF";
    std::string organization;
    std::string organizational_unit;
    std::string locality;
    std::string state;
    std::string country;
    KeySpec key{KeySpec::Algorithm::rsa, 2048};
    unsigned validity_days = 3650;
    IdentityRole role = IdentityRole::capf;
};

/// A new self-signed CAPF identity with the profile of protocol/README.md,
/// section 7: CA:TRUE
/// pathlen:0 (critical), keyUsage digitalSignature + keyCertSign + cRLSign,
/// plus keyEncipherment for RSA keys (TLS RSA key exchange needs it).
/// RSA 2048/3072/4096 or ECDSA P-256/P-384; CaError(unsupported_key_spec)
/// otherwise. With IdentityRole::tftp: the TFTP signer profile described
/// there, and CaError(unsupported_key_spec) for a key outside tftp_key_specs().
Identity generate_identity(
    const IdentityProfile& profile,
    std::chrono::system_clock::time_point now = std::chrono::system_clock::now());

/// Writes the chain (PEM) and the key (PKCS#8 PEM; encrypted when a
/// passphrase is given: PBES2 with PBKDF2-SHA-256 and AES-256/CBC). The key file is created with
/// mode 0600 from the start; an existing one is replaced. Throws CaError(write_failed).
void write_identity(const Identity& identity, const std::filesystem::path& certificate_file,
                    const std::filesystem::path& key_file,
                    const std::optional<std::string>& passphrase = std::nullopt);

}  // namespace capf::ca
