// The TLS listener of every port capfd serves (3804 for CAPF, 2445 for the
// TVS): session limits (in all and per source address), TLS handshake with
// a deadline, then one coroutine per session on its own strand. What runs in
// the session is the caller's SessionHandler; the listener knows no protocol.
#pragma once

#include <botan/system_rng.h>

#include <asio/awaitable.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "capf/common/config.hpp"
#include "capf/common/session_stats.hpp"
#include "capf/tls/stream.hpp"

namespace capf {

struct PhoneListenerOptions {
    asio::ip::tcp::endpoint endpoint;
    std::size_t max_sessions = 10000;
    /// Concurrent sessions from one IP address; more are closed at accept,
    /// before TLS, so one host cannot hold every slot.
    std::size_t max_sessions_per_source = 32;
    std::chrono::milliseconds handshake_timeout = std::chrono::seconds(30);
    TlsPolicy tls_policy = TlsPolicy::legacy;
    /// Out of descriptors or memory at accept: wait this long before the
    /// next try (accept_backoff.hpp).
    std::chrono::milliseconds accept_backoff = std::chrono::milliseconds(100);
    /// Names the port in log events: "<service>_listening" and in accept
    /// backoff messages ("phone", "tvs").
    std::string service = "phone";
};

struct PeerInfo {
    std::string address;  ///< "127.0.0.1:51234", for logs and audit events
};

/// Runs the port's protocol (the CAPF dialogue, a TVS session) on an
/// established TLS stream. Exceptions escaping it are logged and end the
/// session.
using SessionHandler =
    std::function<asio::awaitable<void>(TlsStream& stream, const PeerInfo& peer)>;

/// Lifetime: `credentials` must outlive the listener and its sessions.
class PhoneListener {
  public:
    PhoneListener(asio::io_context& io, PhoneListenerOptions options, TlsCredentials& credentials,
                  SessionHandler handler);
    ~PhoneListener();

    /// Binds and starts accepting. Throws std::system_error naming the
    /// address when it cannot.
    void start();
    /// Stops accepting; running sessions go on. Safe from any thread: the
    /// acceptor is closed on its accept loop's strand.
    void stop();

    /// The bound port (useful when the configured port was 0).
    std::uint16_t port() const;
    const PhoneListenerStats& stats() const noexcept;

    struct Shared;

  private:
    asio::io_context& io_;
    std::shared_ptr<Shared> shared_;
};

}  // namespace capf
