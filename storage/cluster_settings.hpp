// Settings shared by every node and changed at run time by an administrator
// (issue 34): one row per key, the value as JSON text. Each node reads them
// on its own schedule (capfd's maintenance), so a change reaches every node
// within that period.
#pragma once

#include <optional>
#include <string>

#include "storage/connection_pool_fwd.hpp"
#include "storage/error.hpp"
#include "storage/types.hpp"

namespace capf::storage {

/// The key of the rollback ITL switch (`capfctl itl rollback on|off`).
inline constexpr const char* itl_rollback_setting = "itl_rollback";

struct ClusterSetting {
    std::string key;
    std::string value_json;  ///< as PostgreSQL's jsonb prints it
    std::string changed_by;
    std::optional<TimePoint> changed_at;
};

class ClusterSettings {
  public:
    /// Lifetime: the pool must outlive the repository.
    explicit ClusterSettings(ConnectionPool& pool) : pool_(pool) {}

    /// The stored setting, or nothing when it was never set.
    std::optional<ClusterSetting> get(const std::string& key);
    /// Whether the setting holds JSON true (false when unset or anything else).
    bool flag(const std::string& key);
    /// Stores `value_json` under `key` and, when that changed the value,
    /// appends an audit event (cluster_setting / changed, "key old -> new",
    /// by `by`) in the same transaction. Returns whether it changed. Throws
    /// StorageError(invalid_value) for a key outside [a-z][a-z0-9_]* or
    /// text that is not JSON.
    bool set(const std::string& key, const std::string& value_json, const std::string& by);
    /// set() of JSON true or false.
    bool set_flag(const std::string& key, bool on, const std::string& by);

  private:
    ConnectionPool& pool_;
};

}  // namespace capf::storage
