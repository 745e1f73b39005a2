// What administrators schedule: a device's pending operation (install,
// fetch, delete), its deadline, its cancellation and its expiry. Calls as
// described in devices.hpp.
#pragma once

#include <string>

#include "storage/connection_pool_fwd.hpp"
#include "storage/error.hpp"
#include "storage/types.hpp"

namespace capf::storage {

class OperationSchedule {
  public:
    /// Lifetime: the pool must outlive the repository.
    explicit OperationSchedule(ConnectionPool& pool) : pool_(pool) {}

    /// Schedules for one device (device level: wins over bulk). Throws not_found.
    /// Audit: schedule/<operation>, detail "device level".
    void schedule_operation(const std::string& name, const ScheduleRequest& request,
                            const std::string& actor);
    /// Schedules for every device matching `filter`. Devices with their own
    /// device-level pending operation are left alone unless `override_device_level`.
    /// Returns how many devices were scheduled. Audit: schedule/<operation>,
    /// detail "bulk", for each device scheduled.
    std::size_t schedule_bulk(const DeviceFilter& filter, const ScheduleRequest& request,
                              bool override_device_level, const std::string& actor);
    /// Clears a pending operation (status stays for the record). Throws not_found.
    /// Audit: schedule/cancelled, detail the operation that was pending.
    void cancel_operation(const std::string& name, const std::string& actor);
    /// Marks pending operations whose deadline has passed as expired.
    /// Returns how many.
    std::size_t expire_overdue_operations();

  private:
    ConnectionPool& pool_;
};

}  // namespace capf::storage
