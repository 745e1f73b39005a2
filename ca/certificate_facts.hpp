// What the TVS store keeps of a certificate and what people see of it, and
// the PEM bundles its certificates travel in between clusters (protocol
// page, section 11.1): each certificate preceded by comment lines with its
// roles and TTL.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/signed_file.hpp"

namespace capf::ca {

struct CertificateFacts {
    std::vector<std::uint8_t> der;
    std::string sha256_hex;  ///< of the DER, 64 lowercase hex digits: the TVS lookup key
    /// ca::dn_text (certificate order, ", "-joined, short names): what
    /// people read in tables; rfc4514_name is the ITL's wire form.
    std::string subject;
    std::string issuer;
    std::string serial_hex;  ///< lowercase, without leading zero bytes ("00" for zero)
    /// Clamped to what system_clock holds (about 2262) for the "no
    /// well-defined expiration" date 9999-12-31.
    std::chrono::system_clock::time_point not_after;
};

/// The facts of one certificate, DER or PEM (a single certificate block;
/// text around it is ignored). Throws CaError(malformed_certificate) saying
/// what is wrong: no certificate, several, or bytes that do not parse.
CertificateFacts certificate_facts(std::span<const std::uint8_t> der_or_pem);

/// A certificate of a bundle, with what its comment lines say.
struct BundleEntry {
    std::vector<std::uint8_t> der;
    std::vector<protocol::ItlRole> roles;     ///< empty: no roles comment
    std::optional<std::chrono::seconds> ttl;  ///< nothing: no ttl comment
    std::size_t line = 0;                     ///< of its BEGIN line (from 1); 0 when written
};

/// Bundles bigger than this are refused: an export of a whole cluster's
/// store stays far below it.
constexpr std::size_t max_bundle_certificates = 10000;

/// The bundle text: per certificate the comment lines "# subject: ...",
/// "# issuer: ...", "# sha256: ...", "# roles: tftp, capf" (left out when
/// empty) and "# ttl: 86400" (seconds; left out when nothing), then its PEM
/// block and a blank line. Control characters in names are written as '?',
/// so a name cannot forge a comment line. Throws
/// CaError(malformed_certificate) for an entry whose DER does not parse.
std::string write_pem_bundle(const std::vector<BundleEntry>& entries);

/// The certificates of a bundle as write_pem_bundle writes it, or of any
/// plain PEM bundle (no comments: no roles, no TTL). Comment lines ('#')
/// before a block belong to it: "roles:" (names in any case, separated by
/// commas or spaces), "ttl:" (seconds, or a number with s, m, h or d) and
/// "sha256:" (checked against the certificate, so comments moved to the
/// wrong block are caught); other comments and other text outside blocks
/// are ignored. Throws CaError(malformed_bundle) naming the line: a block
/// that is not a certificate (a private key, say), no END line, bad
/// base64 or DER, an unknown role, a bad TTL, a sha256 that differs, no
/// certificate at all, more than max_bundle_certificates.
std::vector<BundleEntry> parse_pem_bundle(std::string_view text);

}  // namespace capf::ca
