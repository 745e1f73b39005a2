// Where trust anchors come from: the issuer's own certificate, the files
// named in the configuration, and anchors administrators added (kept in the
// database so that every node shares them).
#pragma once

#include <string>

#include "ca/identity.hpp"
#include "ca/trust_store.hpp"
#include "capf/common/config.hpp"
#include "storage/trust_anchor_repository.hpp"

namespace capf {

enum class AnchorSource { issuer, config_file, admin };
std::string_view anchor_source_name(AnchorSource source) noexcept;  ///< "issuer", "config", "admin"

/// Rebuilds `trust` from every source and swaps it in at once. A configured
/// file that cannot be read throws CaError (the old set stays); an anchor
/// in the database that no longer parses is skipped and logged. Throws
/// StorageError when the database cannot be read (the old set stays).
void reload_trust(ca::TrustStore& trust, const Config& config, const ca::Identity& issuer,
                  storage::TrustAnchorRepository& anchors);

/// Where the anchor with this fingerprint came from.
AnchorSource anchor_source(const std::string& sha256_hex, const ca::Identity& issuer,
                           const std::vector<storage::StoredTrustAnchor>& stored);

}  // namespace capf
