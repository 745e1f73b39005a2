// Trust material by role: LSC issuers (this CAPF's current and retired
// issuing certificates), MIC roots (imported manufacturing CAs), SUDI roots,
// and intermediates (CA certificates that help build a chain but anchor
// nothing).
#pragma once

#include <botan/x509cert.h>

#include <array>
#include <cstddef>
#include <filesystem>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace capf::ca {

/// lsc_issuer, mic_root and sudi_root are anchors of their role;
/// intermediate certificates are only offered to path building as untrusted
/// links, so an intermediate must itself chain to an anchor.
enum class TrustRole { lsc_issuer, mic_root, sudi_root, intermediate };

constexpr TrustRole all_trust_roles[] = {TrustRole::lsc_issuer, TrustRole::mic_root,
                                         TrustRole::sudi_root, TrustRole::intermediate};

/// "lsc-issuer", "mic-root", "sudi-root", "intermediate"
std::string_view trust_role_name(TrustRole role) noexcept;
/// The inverse of trust_role_name; nullopt for any other text.
std::optional<TrustRole> parse_trust_role(std::string_view name) noexcept;

struct AnchorInfo {
    std::string subject;
    std::string sha256_hex;  ///< identifies the anchor for removal
    std::string not_after;
};

/// Thread-safe: sessions read it while an administrator changes it.
class TrustStore {
  public:
    /// Adds one certificate; returns false when it was already there. Throws
    /// CaError(not_a_ca) naming the subject for a certificate that is not a
    /// CA, whatever the role: a leaf can neither anchor nor link a chain.
    bool add(TrustRole role, const Botan::X509_Certificate& cert);
    /// Adds every certificate of a PEM bundle or a DER file; returns how many
    /// were new. Throws CaError(file_unreadable) naming the file, or
    /// CaError(not_a_ca) naming the subject and the file (then nothing of
    /// the file is added).
    std::size_t add_file(TrustRole role, const std::filesystem::path& file);
    /// Removes the anchor with this SHA-256 fingerprint; false when absent.
    bool remove(TrustRole role, const std::string& sha256_hex);
    std::vector<AnchorInfo> list(TrustRole role) const;
    /// Replaces the certificates of every role with those of `fresh` at once
    /// (a reload): a session sees either the old set or the new one.
    void replace_with(const TrustStore& fresh);
    /// A snapshot of the certificates of a role.
    std::vector<Botan::X509_Certificate> anchors(TrustRole role) const;

  private:
    static constexpr std::size_t role_count = std::size(all_trust_roles);

    mutable std::shared_mutex mutex_;
    std::array<std::vector<Botan::X509_Certificate>, role_count> by_role_;
};

/// Throws CaError(not_a_ca) naming the subject (and `where`, e.g. " in
/// /etc/capf/roots.pem", when not empty) unless `cert` is a CA certificate
/// (basicConstraints CA:TRUE, and keyCertSign when keyUsage is present).
void require_ca_certificate(const Botan::X509_Certificate& cert, const std::string& where = {});

/// Parses one certificate (PEM or DER) offered as a trust anchor and checks
/// that it can be one: a CA (basicConstraints CA:TRUE) that has not expired.
/// Throws CaError: malformed_certificate, not_a_ca, certificate_expired.
Botan::X509_Certificate parse_trust_anchor(std::span<const std::uint8_t> pem_or_der);

}  // namespace capf::ca
