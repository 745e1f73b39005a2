// Readers of the admin methods' parameters, shared by the method groups.
// Each throws jsonrpc::Error(invalid_params) saying what is allowed, or
// storage::StorageError(invalid_value) for a storage enumeration, which
// the registry maps to invalid_params too.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "ca/trust_store.hpp"
#include "capf/admin/jsonrpc.hpp"
#include "capf/common/config.hpp"
#include "storage/types.hpp"

namespace capf::admin {

using jsonrpc::json;

constexpr std::size_t max_page = 1000;
constexpr std::size_t max_bulk = 100000;

/// "a, b, c"
std::string joined(const std::vector<std::string>& items);

/// The optional string `key`; nothing when absent, null or empty.
std::optional<std::string> opt_string(const json& p, const char* key);
/// The optional whole number `key` within [min, max], or `fallback`.
std::size_t opt_size(const json& p, const char* key, std::size_t fallback, std::size_t min,
                     std::size_t max);
/// The optional boolean `key`, false when absent.
bool opt_bool(const json& p, const char* key);

/// One of the phone key specs (ca/key_spec.hpp); the error lists them.
std::string key_spec_param(const std::string& text);
ca::TrustRole trust_role_param(const std::string& text);

/// The parameters filter_param reads, followed by `extra`.
std::vector<std::string> filter_params(std::vector<std::string> extra = {});
/// A device filter: prefix, operation, status, expiring_days.
storage::DeviceFilter filter_param(const json& p);

/// The parameters settings_param reads.
std::vector<std::string> device_params();
/// A device's settings: name, description, auth_mode, key_spec; absent ones
/// keep the existing device's, or take the configured defaults.
storage::DeviceSettings settings_param(const json& p, const Config& config,
                                       const std::optional<storage::DeviceRecord>& existing);

/// What to schedule: operation, auth_mode, key_spec, deadline_hours.
storage::ScheduleRequest schedule_param(const json& p);

}  // namespace capf::admin
