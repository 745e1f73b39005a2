// Device names as capfd stores them.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace capf::storage {

inline constexpr std::size_t max_device_name_length = 64;

/// The canonical (uppercase) form of a device name, or nothing when it is not
/// 1-64 characters of A-Z a-z 0-9 . _ - (the database refuses the same).
std::optional<std::string> canonical_device_name(std::string_view name);

/// The canonical form of a name or StorageError(invalid_device_name).
std::string checked_device_name(const std::string& name);

}  // namespace capf::storage
