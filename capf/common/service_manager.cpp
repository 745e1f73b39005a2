#include "capf/common/service_manager.hpp"

#include <systemd/sd-daemon.h>

#include <cstdint>

#include "capf/common/log.hpp"

namespace capf::service_manager {

namespace {

/// sd_notify's failures are logged, never fatal: a service manager that
/// cannot be told is no reason to stop serving phones.
void notify(const std::string& state) {
    if (const int rc = ::sd_notify(0, state.c_str()); rc < 0) {
        log::warn("service_manager_notify_failed",
                  {{"state", state.substr(0, state.find('='))}, {"errno", -rc}});
    }
}

}  // namespace

void ready(const std::string& text) {
    notify("READY=1\nSTATUS=" + text);
}

void reloading() {
    notify("RELOADING=1\nSTATUS=reloading trust anchors and TFTP identities");
}

void stopping(const std::string& text) {
    notify("STOPPING=1\nSTATUS=" + text);
}

void status(const std::string& text) {
    notify("STATUS=" + text);
}

void watchdog_ping() {
    notify("WATCHDOG=1");
}

std::optional<std::chrono::microseconds> watchdog_period() {
    std::uint64_t usec = 0;
    if (::sd_watchdog_enabled(0, &usec) <= 0 || usec == 0)
        return std::nullopt;
    return std::chrono::microseconds(static_cast<std::int64_t>(usec / 2));
}

}  // namespace capf::service_manager
