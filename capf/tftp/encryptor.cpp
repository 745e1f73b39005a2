#include "capf/tftp/encryptor.hpp"

namespace capf::tftp {
namespace {

/// The part of a lease a node acts in: three quarters (see LeaseGuard).
constexpr int acting_quarters = 3;

}  // namespace

std::string_view to_text(ParkCause cause) noexcept {
    switch (cause) {
        case ParkCause::key_not_rsa:
            return "key-not-rsa";
        case ParkCause::no_source_file:
            return "no-source-file";
        case ParkCause::invalid_device_name:
            return "invalid-device-name";
        case ParkCause::none:
            break;
    }
    return "";
}

std::optional<std::string_view> withdrawal_reason(const DeviceFacts& facts,
                                                  DeliveryChange change) noexcept {
    if (facts.removed)
        return "removed";
    const bool has_key = facts.public_key_der && !facts.public_key_der->empty();
    if (change == DeliveryChange::revoked && !has_key)
        return "revoked";
    return std::nullopt;
}

LeaseGuard::LeaseGuard(Clock::time_point claimed_at, std::chrono::milliseconds lease) noexcept
    : act_until_(claimed_at + lease * acting_quarters / 4) {}

LeaseGuard LeaseGuard::unlimited() noexcept {
    return LeaseGuard(Clock::time_point::max());
}

std::chrono::milliseconds LeaseGuard::remaining() const noexcept {
    if (act_until_ == Clock::time_point::max())
        return std::chrono::milliseconds::max();
    const auto now = Clock::now();
    if (now >= act_until_)
        return std::chrono::milliseconds(0);
    return std::chrono::duration_cast<std::chrono::milliseconds>(act_until_ - now);
}

bool LeaseGuard::allows(std::chrono::milliseconds work) const noexcept {
    const auto left = remaining();
    return left > std::chrono::milliseconds(0) && work <= left;
}

void LeaseGuard::require(std::chrono::milliseconds work, std::string_view effect) const {
    if (allows(work))
        return;
    throw EncryptorError("the delivery's lease is running out: not " + std::string(effect) + " (" +
                             std::to_string(work.count()) + " ms needed, " +
                             std::to_string(remaining().count()) + " ms left)",
                         EncryptorErrc::lease_running_out);
}

}  // namespace capf::tftp
