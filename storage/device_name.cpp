#include "storage/device_name.hpp"

#include "storage/error.hpp"

namespace capf::storage {

std::optional<std::string> canonical_device_name(std::string_view name) {
    if (name.empty() || name.size() > max_device_name_length) {
        return std::nullopt;
    }
    std::string out;
    out.reserve(name.size());
    for (char c : name) {
        if (c >= 'a' && c <= 'z') {
            out.push_back(static_cast<char>(c - 'a' + 'A'));
        } else if ((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
                   c == '-') {
            out.push_back(c);
        } else {
            return std::nullopt;
        }
    }
    return out;
}

std::string checked_device_name(const std::string& name) {
    auto canonical = canonical_device_name(name);
    if (!canonical) {
        throw StorageError(
            StorageErrc::invalid_device_name,
            "device name '" + name + "' must be 1-64 characters of A-Z a-z 0-9 . _ -");
    }
    return *canonical;
}

}  // namespace capf::storage
