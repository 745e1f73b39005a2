// Read-only summaries for administrators: the per-device report, counts
// over the fleet, and audit events counted. Calls as described in
// devices.hpp.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "storage/connection_pool_fwd.hpp"
#include "storage/error.hpp"
#include "storage/types.hpp"

namespace capf::storage {

struct ReportRow {
    std::string name;
    bool has_lsc = false;
    std::string lsc_serial;
    std::optional<TimePoint> lsc_not_after;
    std::string lsc_md5;
    Operation pending_operation = Operation::none;
    std::optional<OperationStatus> status;
    std::string reason;
};

/// Counts over the whole fleet, for the stats method.
struct FleetStats {
    std::size_t devices = 0;
    std::size_t with_lsc = 0;
    std::size_t pending_install = 0;
    std::size_t pending_fetch = 0;
    std::size_t pending_delete = 0;
    std::size_t auth_strings_set = 0;
    std::size_t auth_locked = 0;
    std::size_t leases_held = 0;
};

struct AuditCount {
    std::string event;
    std::string outcome;
    std::size_t count = 0;
};

class Reports {
  public:
    /// Lifetime: the pool must outlive the repository.
    explicit Reports(ConnectionPool& pool) : pool_(pool) {}

    std::vector<ReportRow> report(const DeviceFilter& filter);
    FleetStats fleet_stats();
    /// Audit events since `since`, counted by event and outcome.
    std::vector<AuditCount> audit_counts(TimePoint since);

  private:
    ConnectionPool& pool_;
};

}  // namespace capf::storage
