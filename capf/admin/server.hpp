// The admin socket: a Unix domain socket speaking JSON-RPC 2.0, one request
// per line, one coroutine per client.
#pragma once

#include <sys/types.h>

#include <asio/io_context.hpp>
#include <asio/local/stream_protocol.hpp>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <filesystem>
#include <memory>

#include "capf/admin/access.hpp"
#include "capf/admin/jsonrpc.hpp"
#include "capf/common/blocking_pool.hpp"

namespace capf {

struct AdminServerOptions {
    std::filesystem::path socket_path;
    unsigned socket_mode = 0660;
    std::size_t max_request_size = 1024 * 1024;
    /// An idle client (no complete request within this) is disconnected.
    std::chrono::milliseconds client_timeout = std::chrono::seconds(30);
    /// Clients connected at once; more are told to retry and closed.
    std::size_t max_clients = 64;
    /// Out of descriptors or memory at accept: wait this long before the
    /// next try (accept_backoff.hpp).
    std::chrono::milliseconds accept_backoff = std::chrono::milliseconds(100);
};

struct AdminServerStats {
    std::atomic<std::uint64_t> connections{0};
    std::atomic<std::uint64_t> refused_peers{0};
    std::atomic<std::uint64_t> requests{0};
    std::atomic<std::uint64_t> timeouts{0};
    std::atomic<std::uint64_t> too_large{0};
    std::atomic<std::uint64_t> over_limit{0};
};

/// Lifetime: the registry, policy and pool must outlive the server. Methods
/// run on the blocking pool, so they may call the database.
class AdminServer {
  public:
    AdminServer(asio::io_context& io, AdminServerOptions options, const jsonrpc::Registry& registry,
                const AdminAccessPolicy& policy, BlockingPool& pool);
    ~AdminServer();

    /// Creates the socket file (replacing a stale one left by a crash, never
    /// a live one), applies mode and group, and starts accepting. Throws
    /// std::system_error naming the path when it cannot.
    void start();
    /// Stops accepting and removes the socket file. Connected clients finish
    /// their current request. Call it from the thread that called start();
    /// the acceptor is closed on its accept loop's strand.
    void stop();

    const AdminServerStats& stats() const noexcept { return *stats_; }

    /// Opaque; shared with the client coroutines, which may outlive stop().
    struct State;

  private:
    asio::io_context& io_;
    AdminServerOptions options_;
    const jsonrpc::Registry& registry_;
    const AdminAccessPolicy& policy_;
    BlockingPool& pool_;
    std::shared_ptr<AdminServerStats> stats_;
    std::shared_ptr<State> state_;
    bool listening_ = false;  ///< start() succeeded and stop() has not run
};

}  // namespace capf
