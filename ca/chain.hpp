// Certificate chains validated with Botan's path validation (never by hand),
// under a per-role policy on key sizes and SHA-1.
#pragma once

#include <botan/x509cert.h>

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <vector>

namespace capf::ca {

/// What a chain must meet beyond chaining to an anchor.
struct ChainPolicy {
    /// Every RSA key of the chain (leaf, intermediates, anchor) has at least
    /// this many bits; any other key at least the strength Botan gives an
    /// RSA key of this size.
    std::size_t min_rsa_bits = 1024;
    /// Whether certificates signed with SHA-1 are accepted (old MICs are).
    bool accept_sha1 = true;
};

/// 1024-bit keys and SHA-1 signatures accepted: lets old phones' MICs in.
ChainPolicy legacy_chain_policy() noexcept;
/// 2048-bit keys, no SHA-1.
ChainPolicy strict_chain_policy() noexcept;

enum class ChainFailure {
    untrusted,  ///< no valid path to an anchor (unknown issuer, bad signature, non-CA link...)
    weak,       ///< a key below the policy or a signature hash it does not accept
    outside_validity,  ///< a certificate of the path expired or not yet valid
};

enum class ValidityCheck { enforce, ignore };

struct ChainResult {
    std::optional<ChainFailure> failure;  ///< nullopt when the chain is good
    std::string detail;                   ///< which certificate and why (Botan's status text)
    bool ok() const noexcept { return !failure.has_value(); }
};

/// Validates `leaf` up to one of `anchors` with Botan::x509_path_validate.
/// `untrusted_links` (intermediates the phone sent or that are configured)
/// are offered to path building only and never trusted themselves. No
/// revocation checking. With ValidityCheck::ignore, certificates outside
/// their validity at `now` are not a failure (for certificates read back,
/// not authenticating). Never throws for bad input.
ChainResult validate_chain(const Botan::X509_Certificate& leaf,
                           const std::vector<Botan::X509_Certificate>& untrusted_links,
                           const std::vector<Botan::X509_Certificate>& anchors,
                           const ChainPolicy& policy, std::chrono::system_clock::time_point now,
                           ValidityCheck validity = ValidityCheck::enforce);

}  // namespace capf::ca
