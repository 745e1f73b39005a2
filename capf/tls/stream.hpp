// A TLS server stream over a TCP socket for C++20 coroutines: the socket
// work of TlsServerSession, with a deadline on every operation.
#pragma once

#include <asio/awaitable.hpp>
#include <asio/ip/tcp.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "capf/common/deadline.hpp"
#include "capf/tls/session.hpp"

namespace capf {

/// Lifetime: credentials, policy and rng as for TlsServerSession. Only one
/// read and one write may be in flight; the session coroutine is the only
/// user, so that holds by construction.
///
/// Deadlines follow Asio's watchdog pattern, with one timer per stream
/// rather than one per operation: each operation moves the stream's
/// deadline, and the timer, armed at the earliest deadline it has been
/// given, cancels the operation in progress when that deadline passes (the
/// operation then throws TimedOut; the connection stays usable, so the
/// dialogue can still send END_SESSION or try again). A profile of installs
/// found a timer and a parallel group per read and write to cost more than
/// a twentieth of capfd's CPU.
class TlsStream {
  public:
    TlsStream(asio::ip::tcp::socket socket, TlsCredentials& credentials,
              const Botan::TLS::Policy& policy, Botan::RandomNumberGenerator& rng);
    ~TlsStream();
    TlsStream(const TlsStream&) = delete;
    TlsStream& operator=(const TlsStream&) = delete;

    /// Completes the TLS handshake. Throws TimedOut, TlsError (bad TLS; the
    /// alert has been sent) or std::system_error (the peer went away). The
    /// handshake's last flight is held back and goes out with the first
    /// write (or before the first wait for the peer, or at shutdown).
    asio::awaitable<void> handshake(Deadline deadline);
    /// Some decrypted bytes (at least one), or nothing when the peer closed.
    asio::awaitable<std::vector<std::uint8_t>> read_some(Deadline deadline);
    /// Encrypts `plaintext` as one record and writes it in one socket write
    /// (some phones stall when a CAPF message arrives split).
    asio::awaitable<void> write(std::span<const std::uint8_t> plaintext, Deadline deadline);
    /// Sends close_notify (best effort) and closes the socket.
    asio::awaitable<void> shutdown(Deadline deadline);

    const TlsServerSession& session() const noexcept { return session_; }
    asio::ip::tcp::socket& socket() noexcept { return socket_; }

  private:
    struct Watchdog;
    static void wait_for_deadline(const std::shared_ptr<Watchdog>& dog);
    /// The watchdog's timer fired (on the session's executor).
    void on_deadline(const std::shared_ptr<Watchdog>& dog);
    /// The operation starting now must end by `deadline`; `ex` is the
    /// calling coroutine's executor (its strand), where the watchdog runs.
    void arm(Deadline deadline, const asio::any_io_executor& ex);
    /// The operation ended: no deadline until the next one. Throws TimedOut
    /// when the watchdog cancelled it.
    void disarm();
    asio::awaitable<void> flush(Deadline deadline);
    /// Waits for the peer, hands what arrived to TLS and writes what TLS
    /// queued (handshake flights, alerts). False at end of stream.
    asio::awaitable<bool> receive(Deadline deadline);

    asio::ip::tcp::socket socket_;
    TlsServerSession session_;
    std::vector<std::uint8_t> pending_plaintext_;
    std::shared_ptr<Watchdog> watchdog_;  ///< shared with the timer's handler
    Deadline deadline_ = Deadline::max();
    bool timed_out_ = false;
};

}  // namespace capf
