// Trust anchors by role: LSC issuers (this CAPF's current and retired
// issuing certificates) and MIC roots (imported manufacturing CAs).
#pragma once

#include <botan/x509cert.h>

#include <filesystem>
#include <mutex>
#include <shared_mutex>
#include <span>
#include <string>
#include <vector>

namespace capf::ca {

enum class TrustRole { lsc_issuer, mic_root };

std::string_view trust_role_name(TrustRole role) noexcept;  ///< "lsc-issuer", "mic-root"

struct AnchorInfo {
    std::string subject;
    std::string sha256_hex;  ///< identifies the anchor for removal
    std::string not_after;
};

/// Thread-safe: sessions read it while an administrator changes it.
class TrustStore {
  public:
    /// Adds one certificate; returns false when it was already there.
    bool add(TrustRole role, const Botan::X509_Certificate& cert);
    /// Adds every certificate of a PEM bundle or a DER file; returns how many
    /// were new. Throws CaError(file_unreadable) naming the file.
    std::size_t add_file(TrustRole role, const std::filesystem::path& file);
    /// Removes the anchor with this SHA-256 fingerprint; false when absent.
    bool remove(TrustRole role, const std::string& sha256_hex);
    std::vector<AnchorInfo> list(TrustRole role) const;
    /// Replaces every anchor with those of `fresh` at once (a reload): a
    /// session sees either the old set or the new one.
    void replace_with(const TrustStore& fresh);
    /// A snapshot of the anchors of a role.
    std::vector<Botan::X509_Certificate> anchors(TrustRole role) const;

  private:
    std::vector<Botan::X509_Certificate>& of(TrustRole role);
    const std::vector<Botan::X509_Certificate>& of(TrustRole role) const;

    mutable std::shared_mutex mutex_;
    std::vector<Botan::X509_Certificate> lsc_issuers_;
    std::vector<Botan::X509_Certificate> mic_roots_;
};

/// Parses one certificate (PEM or DER) offered as a trust anchor and checks
/// that it can be one: a CA (basicConstraints CA:TRUE) that has not expired.
/// Throws CaError: malformed_certificate, not_a_ca, certificate_expired.
Botan::X509_Certificate parse_trust_anchor(std::span<const std::uint8_t> pem_or_der);

}  // namespace capf::ca
