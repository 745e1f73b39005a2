// Typed errors of the certificate authority: what went wrong and what a
// person needs to fix it (the file, the key that was expected, ...).
#pragma once

#include <stdexcept>
#include <string>
#include <string_view>

namespace capf::ca {

enum class CaErrc {
    malformed_public_key,   ///< the SubjectPublicKeyInfo does not parse
    key_mismatch,           ///< a valid key, but not the type/size/curve requested
    unsupported_key_spec,   ///< a key spec outside RSA 512-4096 / EC P-256/384/521
    file_unreadable,        ///< a certificate or key file cannot be read or parsed
    key_file_too_open,      ///< a private key readable by group or others
    bad_passphrase,         ///< the key is encrypted and the passphrase is missing or wrong
    identity_mismatch,      ///< the private key does not belong to the certificate
    not_a_ca,               ///< an issuer certificate without CA:TRUE and keyCertSign
    issuer_expired,         ///< the issuer cannot sign: it has expired
    write_failed,           ///< writing a key or certificate file failed
    malformed_certificate,  ///< bytes that are not a PEM or DER certificate
    certificate_expired,    ///< a would-be trust anchor past its notAfter
    malformed_bundle,       ///< a PEM bundle with a bad block or comment (the line says which)
};

std::string_view errc_name(CaErrc code) noexcept;

class CaError : public std::runtime_error {
  public:
    CaError(CaErrc code, const std::string& message) : std::runtime_error(message), code_(code) {}
    CaErrc code() const noexcept { return code_; }

  private:
    CaErrc code_;
};

}  // namespace capf::ca
