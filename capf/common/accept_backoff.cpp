#include "capf/common/accept_backoff.hpp"

#include <asio/error.hpp>
#include <cerrno>

#include "capf/common/log.hpp"

namespace capf {

bool is_resource_exhaustion(const std::error_code& ec) {
    // Asio reports accept() failures in its own category ("asio.system"),
    // not std::system_category: both carry errno values.
    if (ec.category() != asio::error::get_system_category() &&
        ec.category() != std::system_category() && ec.category() != std::generic_category()) {
        return false;
    }
    switch (ec.value()) {
        case EMFILE:
        case ENFILE:
        case ENOBUFS:
        case ENOMEM:
            return true;
        default:
            return false;
    }
}

AcceptBackoff::AcceptBackoff(std::string_view what, std::chrono::milliseconds pause)
    : what_(what), pause_(pause) {}

std::chrono::milliseconds AcceptBackoff::failed(const std::error_code& ec) {
    if (!is_resource_exhaustion(ec)) {
        log::warn(what_ + "_accept_failed", {{"error", ec.message()}});
        return std::chrono::milliseconds(0);
    }
    if (failures_++ == 0) {
        since_ = std::chrono::steady_clock::now();
        log::warn(
            what_ + "_accept_paused",
            {{"error", ec.message()},
             {"retry_every_ms", static_cast<long long>(pause_.count())},
             {"hint", "raise the open-file limit (LimitNOFILE=) or lower limits.max_sessions"}});
    }
    return pause_;
}

void AcceptBackoff::accepted() {
    if (failures_ == 0) {
        return;
    }
    const auto paused_for = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::steady_clock::now() - since_);
    log::info(what_ + "_accept_resumed",
              {{"failed_accepts", static_cast<unsigned long long>(failures_)},
               {"paused_ms", static_cast<long long>(paused_for.count())}});
    failures_ = 0;
}

}  // namespace capf
