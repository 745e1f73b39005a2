// A TLS server stream over a TCP socket for C++20 coroutines: the socket
// work of TlsServerSession, with a deadline on every operation.
#pragma once

#include <asio/awaitable.hpp>
#include <asio/ip/tcp.hpp>
#include <chrono>
#include <cstdint>
#include <span>
#include <vector>

#include "capf/common/deadline.hpp"
#include "capf/tls/session.hpp"

namespace capf {

/// Lifetime: credentials, policy and rng as for TlsServerSession. Only one
/// read and one write may be in flight; the session coroutine is the only
/// user, so that holds by construction.
class TlsStream {
  public:
    TlsStream(asio::ip::tcp::socket socket, TlsCredentials& credentials,
              const Botan::TLS::Policy& policy, Botan::RandomNumberGenerator& rng);

    /// Completes the TLS handshake. Throws TimedOut, TlsError (bad TLS; the
    /// alert has been sent) or std::system_error (the peer went away).
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
    asio::awaitable<void> flush(Deadline deadline);
    asio::awaitable<std::size_t> read_socket(Deadline deadline);
    /// Hands the first `n` bytes of read_buffer_ to TLS and flushes its output.
    asio::awaitable<void> feed(std::size_t n, Deadline deadline);

    asio::ip::tcp::socket socket_;
    TlsServerSession session_;
    std::vector<std::uint8_t> read_buffer_;
    std::vector<std::uint8_t> pending_plaintext_;
};

}  // namespace capf
