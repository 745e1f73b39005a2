#include "capf/admin/server.hpp"

#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/dispatch.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/experimental/awaitable_operators.hpp>
#include <asio/read_until.hpp>
#include <asio/steady_timer.hpp>
#include <asio/strand.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>
#include <optional>
#include <system_error>

#include "capf/common/accept_backoff.hpp"
#include "capf/common/log.hpp"

namespace capf {

using asio::local::stream_protocol;
using namespace asio::experimental::awaitable_operators;

struct AdminServer::State {
    explicit State(asio::io_context& io) : accept_strand(asio::make_strand(io)), acceptor(io) {}
    // The accept loop runs here and stop() closes the acceptor here: closed
    // from another I/O thread while the loop starts its next accept, asio
    // used the descriptor state close had just freed (UBSan caught it).
    asio::strand<asio::io_context::executor_type> accept_strand;
    stream_protocol::acceptor acceptor;
    std::atomic<std::size_t> clients{0};
};

namespace {

constexpr auto tuple_awaitable = asio::experimental::as_tuple(asio::use_awaitable);

struct Shared {
    AdminServerOptions options;
    const jsonrpc::Registry& registry;
    const AdminAccessPolicy& policy;
    BlockingPool& pool;
    std::shared_ptr<AdminServerStats> stats;
    std::shared_ptr<AdminServer::State> state;
};

/// Writes `line` plus a newline, giving up after the client timeout so a
/// client that stops reading cannot hold its coroutine forever.
asio::awaitable<bool> write_line(stream_protocol::socket& socket, std::string line,
                                 std::chrono::milliseconds timeout) {
    line += '\n';
    asio::steady_timer timer(socket.get_executor(), timeout);
    auto result = co_await (asio::async_write(socket, asio::buffer(line), tuple_awaitable) ||
                            timer.async_wait(tuple_awaitable));
    if (result.index() != 0) {
        co_return false;
    }
    co_return !std::get<0>(std::get<0>(result));
}

/// The caller this client is served as: its uid or groups must give it a
/// role, and there must be room under the client limit. A refused client is
/// told why and gets nothing.
asio::awaitable<std::optional<jsonrpc::Caller>> admit(stream_protocol::socket& socket,
                                                      const Shared& shared,
                                                      const AdminServer::State& state,
                                                      const std::optional<PeerCredentials>& peer) {
    AdminServerStats& stats = *shared.stats;
    const auto& options = shared.options;
    const auto grant = peer ? shared.policy.role_of(*peer) : std::nullopt;
    if (!grant) {
        ++stats.refused_peers;
        const std::string uid = peer ? std::to_string(peer->uid) : "unknown";
        log::warn("admin_peer_refused", {{"uid", uid},
                                         {"gid", peer ? std::to_string(peer->gid) : "unknown"},
                                         {"pid", peer ? std::to_string(peer->pid) : "unknown"}});
        co_await write_line(socket,
                            jsonrpc::error_line(jsonrpc::ErrorCode::permission_denied,
                                                "permission denied: uid " + uid +
                                                    " may not use the capfd admin socket (allowed: "
                                                    "root, the service user, admin.allowed_users "
                                                    "and members of admin.allowed_group; read "
                                                    "methods only: admin.readonly_users and "
                                                    "members of admin.readonly_groups)"),
                            options.client_timeout);
        co_return std::nullopt;
    }
    if (state.clients >= options.max_clients) {
        ++stats.over_limit;
        co_await write_line(
            socket,
            jsonrpc::error_line(jsonrpc::ErrorCode::unavailable,
                                "too many admin clients at once (limit " +
                                    std::to_string(options.max_clients) + "); retry shortly"),
            options.client_timeout);
        co_return std::nullopt;
    }
    co_return caller_of(*peer, *grant);
}

/// One request per line until the client closes, idles past the client
/// timeout, or sends a line over the size limit. `actor` ("uid N pid M") is
/// the actor of every change the requests make; `caller`'s role decides
/// which methods it may call.
asio::awaitable<void> serve_requests(stream_protocol::socket& socket, const Shared& shared,
                                     std::string actor, jsonrpc::Caller caller) {
    AdminServerStats& stats = *shared.stats;
    const auto& options = shared.options;
    std::string buffer;
    for (;;) {
        asio::steady_timer timer(socket.get_executor(), options.client_timeout);
        auto result =
            co_await (asio::async_read_until(
                          socket, asio::dynamic_buffer(buffer, options.max_request_size + 1), '\n',
                          tuple_awaitable) ||
                      timer.async_wait(tuple_awaitable));
        if (result.index() == 1) {
            ++stats.timeouts;
            co_return;  // idle client: close
        }
        auto [ec, length] = std::get<0>(result);
        if (ec == asio::error::not_found) {
            ++stats.too_large;
            co_await write_line(socket,
                                jsonrpc::error_line(jsonrpc::ErrorCode::request_too_large,
                                                    "request larger than " +
                                                        std::to_string(options.max_request_size) +
                                                        " bytes (admin.max_request_size)"),
                                options.client_timeout);
            co_return;
        }
        if (ec) {
            co_return;  // the client closed, or the server is stopping
        }
        std::string line = buffer.substr(0, length - 1);
        buffer.erase(0, length);
        if (!line.empty() && line.back() == '\r') {
            line.pop_back();
        }
        if (line.empty()) {
            continue;
        }
        ++stats.requests;
        // A named callable: GCC 12 double-destroys lambda temporaries that
        // appear inside a co_await expression.
        auto handle = [registry = &shared.registry, line = std::move(line), actor, caller] {
            const jsonrpc::CallerScope scope(actor);
            return jsonrpc::handle_line(*registry, line, caller);
        };
        std::string response = co_await shared.pool.run(std::move(handle));
        if (!response.empty() &&
            !co_await write_line(socket, std::move(response), options.client_timeout)) {
            co_return;
        }
    }
}

asio::awaitable<void> serve_client(stream_protocol::socket socket, std::shared_ptr<Shared> shared,
                                   std::shared_ptr<AdminServer::State> state) {
    ++shared->stats->connections;
    const auto peer = peer_credentials(socket.native_handle());
    auto caller = co_await admit(socket, *shared, *state, peer);
    if (!caller) {
        co_return;
    }
    ++state->clients;
    struct Release {
        AdminServer::State& s;
        ~Release() { --s.clients; }
    } release{*state};
    co_await serve_requests(
        socket, *shared, "uid " + std::to_string(peer->uid) + " pid " + std::to_string(peer->pid),
        std::move(*caller));
}

asio::awaitable<void> accept_clients(std::shared_ptr<Shared> shared) {
    auto state = shared->state;
    AcceptBackoff backoff("admin", shared->options.accept_backoff);
    asio::steady_timer pause(state->acceptor.get_executor());
    for (;;) {
        auto [ec, socket] = co_await state->acceptor.async_accept(tuple_awaitable);
        if (ec == asio::error::operation_aborted || !state->acceptor.is_open()) {
            co_return;
        }
        if (ec) {
            if (const auto wait = backoff.failed(ec); wait.count() > 0) {
                pause.expires_after(wait);
                co_await pause.async_wait(tuple_awaitable);
            }
            continue;
        }
        backoff.accepted();
        asio::co_spawn(state->acceptor.get_executor(),
                       serve_client(std::move(socket), shared, state), asio::detached);
    }
}

/// Removes a socket file left by a process that died, refusing to touch a
/// live socket or anything that is not a socket.
void remove_stale_socket(const std::filesystem::path& path) {
    struct stat st {};
    if (::lstat(path.c_str(), &st) != 0) {
        return;  // nothing there
    }
    if (!S_ISSOCK(st.st_mode)) {
        throw std::system_error(std::make_error_code(std::errc::file_exists),
                                path.string() + " exists and is not a socket; not replacing it");
    }
    asio::io_context probe_io;
    stream_protocol::socket probe(probe_io);
    std::error_code ec;
    probe.connect(stream_protocol::endpoint(path.string()), ec);
    if (!ec) {
        throw std::system_error(std::make_error_code(std::errc::address_in_use),
                                "another process is serving the admin socket " + path.string());
    }
    std::filesystem::remove(path);
}

/// Lets the users and groups the admin keys name (other than the socket's
/// owner and group) connect, by an ACL on the socket file. A file system
/// without ACLs leaves them out: capfd still serves its owner, its group and
/// root, and says once what to change.
void give_named_peers_access(const std::filesystem::path& path, unsigned mode,
                             const AdminAccessPolicy& policy) {
    const auto users = policy.named_users();
    const auto groups = policy.named_groups();
    if (users.empty() && groups.empty()) {
        return;
    }
    try {
        grant_file_access(path, mode, users, groups);
    } catch (const std::system_error& e) {
        log::warn("admin_socket_acl_failed",
                  {{"socket", path.string()},
                   {"error", e.what()},
                   {"hint",
                    "users of admin.allowed_users, admin.readonly_users and members of "
                    "admin.readonly_groups cannot connect; put admin.socket_path on a "
                    "file system with POSIX ACLs (a tmpfs such as /run)"}});
    }
}

}  // namespace

AdminServer::AdminServer(asio::io_context& io, AdminServerOptions options,
                         const jsonrpc::Registry& registry, const AdminAccessPolicy& policy,
                         BlockingPool& pool)
    : io_(io),
      options_(std::move(options)),
      registry_(registry),
      policy_(policy),
      pool_(pool),
      stats_(std::make_shared<AdminServerStats>()),
      state_(std::make_shared<State>(io)) {}

AdminServer::~AdminServer() {
    // The I/O threads are done by now: no accept loop left to race with.
    if (listening_) {
        std::error_code ignored;
        std::filesystem::remove(options_.socket_path, ignored);
    }
    std::error_code ignored;
    state_->acceptor.close(ignored);
}

void AdminServer::start() {
    const auto& path = options_.socket_path;
    if (path.string().size() >= sizeof(sockaddr_un{}.sun_path)) {
        throw std::system_error(std::make_error_code(std::errc::filename_too_long),
                                "admin socket path " + path.string() + " is longer than " +
                                    std::to_string(sizeof(sockaddr_un{}.sun_path) - 1) + " bytes");
    }
    if (path.has_parent_path() && !std::filesystem::exists(path.parent_path())) {
        std::filesystem::create_directories(path.parent_path());
        std::filesystem::permissions(path.parent_path(), std::filesystem::perms(0750));
    }
    remove_stale_socket(path);

    auto& acceptor = state_->acceptor;
    acceptor.open(stream_protocol());
    acceptor.bind(stream_protocol::endpoint(path.string()));
    // The default mode after bind (0777 minus umask) leaves others without
    // write permission under any usual umask, so no client could connect
    // before the mode below is set; peer credentials are checked regardless.
    if (::chmod(path.c_str(), static_cast<mode_t>(options_.socket_mode)) != 0) {
        throw std::system_error(errno, std::generic_category(), "chmod " + path.string());
    }
    if (auto gid = policy_.socket_group()) {
        if (::chown(path.c_str(), static_cast<uid_t>(-1), *gid) != 0) {
            throw std::system_error(errno, std::generic_category(), "chgrp " + path.string());
        }
    }
    give_named_peers_access(path, options_.socket_mode, policy_);
    acceptor.listen();
    auto shared =
        std::make_shared<Shared>(Shared{options_, registry_, policy_, pool_, stats_, state_});
    asio::co_spawn(state_->accept_strand, accept_clients(shared), asio::detached);
    listening_ = true;
    log::info("admin_listening", {{"socket", path.string()}});
}

void AdminServer::stop() {
    if (!listening_) {
        return;  // never started (or it failed): the socket file is not ours
    }
    listening_ = false;
    std::error_code not_there;
    std::filesystem::remove(options_.socket_path, not_there);
    asio::dispatch(state_->accept_strand, [state = state_] {
        std::error_code ignored;
        state->acceptor.close(ignored);
    });
}

}  // namespace capf
