// Telling the service manager (systemd, under Type=notify) how capfd is
// doing: ready once phones and administrators can connect, reloading on
// SIGHUP, stopping on SIGTERM, and a watchdog ping from the I/O threads so a
// wedged event loop gets capfd restarted. Without $NOTIFY_SOCKET (capfd run
// by hand, in a container, in tests) every call does nothing.
#pragma once

#include <chrono>
#include <optional>
#include <string>

namespace capf::service_manager {

/// Phones and administrators can connect; `status` is shown by systemctl.
void ready(const std::string& status);
/// SIGHUP received: trust anchors and TFTP identities are being read again.
/// Followed by ready() when done.
void reloading();
/// SIGTERM or SIGINT received: draining sessions.
void stopping(const std::string& status);
/// A new line for `systemctl status`.
void status(const std::string& status);
/// The event loop is alive.
void watchdog_ping();
/// How often to ping: half the unit's WatchdogSec, or none when the
/// service manager expects no pings.
std::optional<std::chrono::microseconds> watchdog_period();

}  // namespace capf::service_manager
