#include "storage/types.hpp"

#include <algorithm>
#include <array>

#include "storage/error.hpp"

namespace capf::storage {
namespace {

template <typename E, std::size_t N>
E parse(std::string_view text, const std::array<std::pair<std::string_view, E>, N>& table,
        const char* field) {
    std::string allowed;
    for (const auto& [name, value] : table) {
        if (name == text)
            return value;
        allowed += allowed.empty() ? "" : ", ";
        allowed += name;
    }
    throw StorageError(StorageErrc::invalid_value, std::string(field) + " '" + std::string(text) +
                                                       "' is not one of: " + allowed);
}

constexpr std::array<std::pair<std::string_view, Operation>, 4> operations = {
    {{"none", Operation::none},
     {"install", Operation::install},
     {"fetch", Operation::fetch},
     {"delete", Operation::remove}}};
constexpr std::array<std::pair<std::string_view, AuthMode>, 5> auth_modes = {
    {{"null-string", AuthMode::null_string},
     {"auth-string", AuthMode::auth_string},
     {"lsc", AuthMode::lsc},
     {"mic", AuthMode::mic},
     {"lsc-or-mic", AuthMode::lsc_or_mic}}};
constexpr std::array<std::pair<std::string_view, OperationStatus>, 5> statuses = {
    {{"pending", OperationStatus::pending},
     {"in-progress", OperationStatus::in_progress},
     {"succeeded", OperationStatus::succeeded},
     {"failed", OperationStatus::failed},
     {"expired", OperationStatus::expired}}};
constexpr std::array<std::pair<std::string_view, CertificateStanding>, 7> standings = {
    {{"current", CertificateStanding::current},
     {"unknown-outcome", CertificateStanding::unknown_outcome},
     {"superseded", CertificateStanding::superseded},
     {"refused", CertificateStanding::refused},
     {"deleted", CertificateStanding::deleted},
     {"revoked", CertificateStanding::revoked},
     {"not-issued", CertificateStanding::not_issued}}};
constexpr std::array<std::pair<std::string_view, DeliveryChange>, 6> delivery_changes = {
    {{"installed", DeliveryChange::installed},
     {"fetched", DeliveryChange::fetched},
     {"deleted", DeliveryChange::deleted},
     {"requested", DeliveryChange::requested},
     {"revoked", DeliveryChange::revoked},
     {"removed", DeliveryChange::removed}}};
template <typename E, std::size_t N>
std::string_view text_of(E value, const std::array<std::pair<std::string_view, E>, N>& table) {
    for (const auto& [name, v] : table) {
        if (v == value)
            return name;
    }
    return "?";
}

}  // namespace

std::string_view to_text(Operation v) noexcept {
    return text_of(v, operations);
}
std::string_view to_text(AuthMode v) noexcept {
    return text_of(v, auth_modes);
}
std::string_view to_text(OperationStatus v) noexcept {
    return text_of(v, statuses);
}
std::string_view to_text(CertificateStanding v) noexcept {
    return text_of(v, standings);
}
std::string_view to_text(DeliveryChange v) noexcept {
    return text_of(v, delivery_changes);
}
Operation parse_operation(std::string_view t) {
    return parse(t, operations, "operation");
}
AuthMode parse_auth_mode(std::string_view t) {
    return parse(t, auth_modes, "auth mode");
}
OperationStatus parse_operation_status(std::string_view t) {
    return parse(t, statuses, "operation status");
}

std::chrono::seconds delivery_backoff(int attempts, std::chrono::seconds first,
                                      std::chrono::seconds max) noexcept {
    auto wait = std::min(first, max);
    // Doubling stops at the cap, so no count of attempts overflows.
    for (int i = 1; i < attempts && wait < max; ++i)
        wait = std::min(wait * 2, max);
    return wait;
}

std::string_view errc_name(StorageErrc code) noexcept {
    switch (code) {
        case StorageErrc::invalid_device_name:
            return "invalid_device_name";
        case StorageErrc::invalid_value:
            return "invalid_value";
        case StorageErrc::not_found:
            return "not_found";
        case StorageErrc::already_exists:
            return "already_exists";
        case StorageErrc::lease_lost:
            return "lease_lost";
        case StorageErrc::unreachable:
            return "unreachable";
        case StorageErrc::pool_exhausted:
            return "pool_exhausted";
        case StorageErrc::conflict:
            return "conflict";
        case StorageErrc::timeout:
            return "timeout";
    }
    return "unknown";
}

}  // namespace capf::storage
