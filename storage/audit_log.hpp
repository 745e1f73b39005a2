// The audit log: events appended by the service, and read back by
// administrators. Calls as described in devices.hpp.
#pragma once

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "storage/connection_pool_fwd.hpp"
#include "storage/error.hpp"
#include "storage/types.hpp"

namespace capf::storage {

struct AuditQuery {
    std::string device;  ///< empty: all devices
    std::optional<TimePoint> since;
    std::size_t limit = 100;
};

class AuditLog {
  public:
    /// Lifetime: the pool must outlive the repository.
    explicit AuditLog(ConnectionPool& pool) : pool_(pool) {}

    void append_audit(const AuditEvent& event);
    /// For events an unauthenticated peer can cause at will: one row per
    /// (device, peer, event, outcome, detail) per minute, whose repeat_count
    /// counts them. The caller keeps the cause in `detail`, gives the source
    /// address as `peer` (not its port), and leaves out anything the peer
    /// chose freely (such as an unknown device's name: `device` empty).
    void append_rate_limited_audit(const AuditEvent& event);
    std::vector<AuditEvent> audit_events(const AuditQuery& query);
    /// Deletes at most `limit` events older than `age` (by the database's
    /// clock): one bounded statement, so a caller purges a large backlog in
    /// batches with other work between them. Returns how many.
    std::size_t purge_older_than(std::chrono::seconds age, std::size_t limit);

  private:
    ConnectionPool& pool_;
};

}  // namespace capf::storage
