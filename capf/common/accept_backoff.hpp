// What an accept loop does when accept() fails. A connection that went away
// before it was taken (ECONNABORTED and the like) is passed over at once.
// Running out of descriptors or kernel memory (EMFILE, ENFILE, ENOBUFS,
// ENOMEM) is different: the connection stays in the backlog, the listening
// socket stays readable, and retrying at once spins a core and writes a log
// line per try (about 93,000 a second were measured). Those pause accepting
// and are logged once per episode, with a summary when accepting resumes.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <system_error>

namespace capf {

/// True for the accept() errors that retrying at once cannot clear.
bool is_resource_exhaustion(const std::error_code& ec);

class AcceptBackoff {
  public:
    /// `what` names the listener in log events ("phone" gives
    /// phone_accept_paused, phone_accept_resumed, phone_accept_failed).
    AcceptBackoff(std::string_view what, std::chrono::milliseconds pause);

    /// Logs the failure; returns how long to wait before accepting again
    /// (zero: at once).
    std::chrono::milliseconds failed(const std::error_code& ec);
    /// A connection was accepted: ends a pause episode, if one is running.
    void accepted();
    bool paused() const noexcept { return failures_ > 0; }

  private:
    std::string what_;
    std::chrono::milliseconds pause_;
    std::uint64_t failures_ = 0;  ///< resource failures in the running episode
    std::chrono::steady_clock::time_point since_{};
};

}  // namespace capf
