// Device records: add, update, remove, find and list them.
//
// Every repository of storage/ (devices, operation_schedule,
// operation_claims, operation_outcomes, auth_strings, certificates,
// audit_log, reports) is a view over a ConnectionPool: every call is one
// short transaction, safe when several capfd processes share the database.
// Time comes from the database's now() so that nodes agree on leases and
// deadlines. Every change an administrator makes records an audit event in
// its own transaction, with `actor` (who asked: "uid 0 pid 42" on the admin
// socket, a phone's address in a dialogue) in the event's peer column. A
// refused change records nothing.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "storage/connection_pool_fwd.hpp"
#include "storage/error.hpp"
#include "storage/types.hpp"

namespace capf::storage {

struct Page {
    std::vector<DeviceRecord> devices;
    /// Pass as `after` for the next page; empty when this was the last.
    std::string next_after;
};

class Devices {
  public:
    /// Lifetime: the pool must outlive the repository.
    explicit Devices(ConnectionPool& pool) : pool_(pool) {}

    /// Audit: device/added, detail "auth_mode M, key_spec K".
    /// Throws StorageError: invalid_device_name, invalid_value, already_exists.
    DeviceRecord add_device(const DeviceSettings& settings, const std::string& actor);
    /// Adds many devices in one statement; existing names are left alone.
    /// Returns how many were added. Audit: device/added for each one added.
    std::size_t add_devices(const std::vector<DeviceSettings>& devices, const std::string& actor);
    /// Changes description, auth mode, key spec and require_sudi (callers
    /// keep a setting by passing the device's current value). Throws
    /// not_found. Audit: device/updated, detail "auth_mode M, key_spec K"
    /// (", require_sudi" appended when it is set; added devices likewise).
    DeviceRecord update_device(const DeviceSettings& settings, const std::string& actor);
    /// Throws not_found. Audit: device/removed. Queues a 'removed' delivery
    /// in the same transaction: the TFTP side withdraws what it wrote for
    /// the device (the outbox row outlives the device).
    void remove_device(const std::string& name, const std::string& actor);
    std::optional<DeviceRecord> find_device(const std::string& name);
    /// Ordered by name; `after` is the last name of the previous page.
    Page list_devices(const DeviceFilter& filter, const std::string& after, std::size_t limit);

  private:
    ConnectionPool& pool_;
};

}  // namespace capf::storage
