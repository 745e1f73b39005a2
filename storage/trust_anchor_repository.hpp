// Trust anchors that administrators add at run time (configured files are
// the other source). Kept in the database so every node sees the same set.
#pragma once

#include <string>
#include <vector>

#include "storage/connection_pool_fwd.hpp"
#include "storage/error.hpp"
#include "storage/types.hpp"

namespace capf::storage {

struct StoredTrustAnchor {
    std::string role;        ///< "lsc-issuer" or "mic-root"
    std::string sha256_hex;  ///< of the DER, lowercase
    Bytes der;
    std::string subject;
    std::string added_by;               ///< who added it, for the audit trail
    std::optional<TimePoint> added_at;  ///< set when read back
};

class TrustAnchorRepository {
  public:
    /// Lifetime: the pool must outlive the repository.
    explicit TrustAnchorRepository(ConnectionPool& pool) : pool_(pool) {}

    /// Stores the anchor and appends an audit event. Throws StorageError:
    /// already_exists (same role and fingerprint), invalid_value.
    void add(const StoredTrustAnchor& anchor);
    /// Removes it and appends an audit event. Throws not_found.
    void remove(const std::string& role, const std::string& sha256_hex, const std::string& by);
    /// Every stored anchor, oldest first; `role` empty for all roles.
    std::vector<StoredTrustAnchor> list(const std::string& role = {});

  private:
    ConnectionPool& pool_;
};

}  // namespace capf::storage
