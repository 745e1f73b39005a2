#include "capf/phone/listener.hpp"

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/dispatch.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/steady_timer.hpp>
#include <asio/strand.hpp>
#include <asio/use_awaitable.hpp>
#include <map>
#include <mutex>
#include <optional>
#include <utility>

#include "ca/signer_cache.hpp"
#include "capf/common/accept_backoff.hpp"
#include "capf/common/log.hpp"
#include "capf/tls/policy.hpp"

namespace capf {
namespace {

/// Live sessions per peer address, and when a refusal of each address was
/// last logged. Touched at accept and at the end of sessions, which run on
/// other strands (and threads), hence the mutex.
class SourceSessions {
  public:
    /// Counts a new session of `address` unless it already has `cap`;
    /// returns how many it had.
    std::size_t try_add(const asio::ip::address& address, std::size_t cap, bool& added) {
        std::lock_guard lock(mutex_);
        std::size_t& live = live_[address];
        added = live < cap;
        const std::size_t had = live;
        if (added)
            ++live;
        else if (live == 0)
            live_.erase(address);  // a cap of 0 admits nobody; keep no entry
        return had;
    }

    void remove(const asio::ip::address& address) {
        std::lock_guard lock(mutex_);
        auto it = live_.find(address);
        if (it != live_.end() && --it->second == 0)
            live_.erase(it);
    }

    /// Counts a refusal of `address`. Returns how many refusals of it to
    /// report (this one included) when it is time to log them, which is at
    /// most once per address per minute, so a host hammering the listener
    /// cannot flood the log; 0 otherwise.
    std::uint64_t refusal_to_log(const asio::ip::address& address) {
        const auto now = std::chrono::steady_clock::now();
        std::lock_guard lock(mutex_);
        if (refusals_.size() > 4096) {
            std::erase_if(refusals_,
                          [&](const auto& e) { return now - e.second.logged_at >= one_minute; });
        }
        auto [it, fresh] = refusals_.try_emplace(address, Refusals{now, 0});
        ++it->second.unlogged;
        if (!fresh && now - it->second.logged_at < one_minute)
            return 0;
        it->second.logged_at = now;
        return std::exchange(it->second.unlogged, 0);
    }

  private:
    static constexpr std::chrono::minutes one_minute{1};
    std::mutex mutex_;
    std::map<asio::ip::address, std::size_t> live_;
    struct Refusals {
        std::chrono::steady_clock::time_point logged_at;
        std::uint64_t unlogged = 0;
    };
    std::map<asio::ip::address, Refusals> refusals_;
};

}  // namespace

struct PhoneListener::Shared {
    Shared(asio::io_context& io, PhoneListenerOptions opts, TlsCredentials& creds, SessionHandler h)
        : options(std::move(opts)),
          credentials(creds),
          policy(make_tls_policy(options.tls_policy)),
          handler(std::move(h)),
          accept_strand(asio::make_strand(io)),
          acceptor(io) {}

    PhoneListenerOptions options;
    TlsCredentials& credentials;
    std::unique_ptr<Botan::TLS::Policy> policy;
    // Shared by every session: each call is served by the calling thread's
    // own generator (no lock, no system call per request).
    ca::ThisThreadRng rng;
    SessionHandler handler;
    // The accept loop runs here and stop() closes the acceptor here: closed
    // from another I/O thread while the loop starts its next accept, asio
    // used the descriptor state close had just freed (UBSan caught it on
    // SIGTERM). Sessions run on strands of their own, not this one.
    asio::strand<asio::io_context::executor_type> accept_strand;
    asio::ip::tcp::acceptor acceptor;
    std::shared_ptr<PhoneListenerStats> stats = std::make_shared<PhoneListenerStats>();
    SourceSessions sources;
};

namespace {

std::string describe_peer(const std::optional<asio::ip::tcp::endpoint>& ep) {
    if (!ep) {
        return "unknown";
    }
    return ep->address().to_string() + ":" + std::to_string(ep->port());
}

/// The peer's address, once per connection; nothing when it has already gone.
std::optional<asio::ip::tcp::endpoint> remote_of(const asio::ip::tcp::socket& socket) {
    std::error_code ec;
    const auto ep = socket.remote_endpoint(ec);
    if (ec) {
        return std::nullopt;
    }
    return ep;
}

/// `source`: the address counted in shared->sources for this session, if any.
asio::awaitable<void> run_session(asio::ip::tcp::socket socket,
                                  std::shared_ptr<PhoneListener::Shared> shared,
                                  std::optional<asio::ip::address> source, std::string peer_name) {
    auto& stats = *shared->stats;
    struct Active {
        PhoneListener::Shared& shared;
        std::optional<asio::ip::address> source;
        ~Active() {
            --shared.stats->active;
            if (source)
                shared.sources.remove(*source);
        }
    } active{*shared, source};

    const PeerInfo peer{std::move(peer_name)};
    TlsStream stream(std::move(socket), shared->credentials, *shared->policy, shared->rng);
    bool established = false;
    try {
        co_await stream.handshake(std::chrono::steady_clock::now() +
                                  shared->options.handshake_timeout);
        established = true;
    } catch (const TimedOut&) {
        ++stats.handshake_timeouts;
        log::info("tls_handshake_timeout", {{"peer", peer.address}});
    } catch (const std::exception& e) {
        ++stats.handshake_failures;
        log::info("tls_handshake_failed", {{"peer", peer.address},
                                           {"alert", stream.session().last_alert()},
                                           {"error", e.what()}});
    }
    if (!established) {
        co_await stream.shutdown(std::chrono::steady_clock::now());
        co_return;
    }
    log::debug("tls_established", {{"peer", peer.address}, {"tls", stream.session().negotiated()}});
    try {
        co_await shared->handler(stream, peer);
    } catch (const std::exception& e) {
        log::error("session_failed", {{"peer", peer.address}, {"error", e.what()}});
    }
    ++stats.sessions_completed;
    co_await stream.shutdown(std::chrono::steady_clock::now() + std::chrono::seconds(2));
}

/// Counts `socket` against its address's cap and returns the address, or
/// closes the socket (before any TLS) when the address already has
/// max_sessions_per_source sessions. A peer whose address cannot be read has
/// already gone; it is left to fail in the handshake, uncounted.
std::optional<asio::ip::address> admit_source(PhoneListener::Shared& shared,
                                              asio::ip::tcp::socket& socket,
                                              const std::optional<asio::ip::tcp::endpoint>& ep) {
    if (!ep) {
        return std::nullopt;
    }
    const auto address = ep->address();
    const std::size_t cap = shared.options.max_sessions_per_source;
    bool added = false;
    const std::size_t live = shared.sources.try_add(address, cap, added);
    if (added) {
        return address;
    }
    ++shared.stats->rejected_per_source;
    if (const std::uint64_t refused = shared.sources.refusal_to_log(address)) {
        log::warn("session_refused_per_source", {{"address", address.to_string()},
                                                 {"count", refused},
                                                 {"sessions", live},
                                                 {"limit", cap}});
    }
    std::error_code ignored;
    socket.close(ignored);
    return std::nullopt;
}

asio::awaitable<void> accept_phones(std::shared_ptr<PhoneListener::Shared> shared) {
    auto& stats = *shared->stats;
    auto& acceptor = shared->acceptor;
    AcceptBackoff backoff(shared->options.service, shared->options.accept_backoff);
    asio::steady_timer pause(acceptor.get_executor());
    for (;;) {
        auto [ec, socket] =
            co_await acceptor.async_accept(asio::experimental::as_tuple(asio::use_awaitable));
        if (!acceptor.is_open()) {
            co_return;
        }
        if (ec) {
            // Never stop serving; out of descriptors, wait instead of spinning.
            if (const auto wait = backoff.failed(ec); wait.count() > 0) {
                pause.expires_after(wait);
                co_await pause.async_wait(asio::experimental::as_tuple(asio::use_awaitable));
            }
            continue;
        }
        backoff.accepted();
        const auto remote = remote_of(socket);
        if (stats.active.load() >= shared->options.max_sessions) {
            // Closed at once: nothing waits for a free slot.
            ++stats.rejected_over_limit;
            log::warn("session_limit_reached",
                      {{"peer", describe_peer(remote)}, {"limit", shared->options.max_sessions}});
            std::error_code ignored;
            socket.close(ignored);
            continue;
        }
        std::optional<asio::ip::address> source = admit_source(*shared, socket, remote);
        if (!socket.is_open()) {
            continue;
        }
        // Every CAPF message goes out in one write and waits for its answer:
        // nothing is gained by holding a small segment back (Nagle).
        std::error_code ignored;
        socket.set_option(asio::ip::tcp::no_delay(true), ignored);
        ++stats.accepted;
        ++stats.active;
        // Each session on its own strand: its TLS object is only ever
        // touched by one thread at a time.
        asio::co_spawn(
            asio::make_strand(acceptor.get_executor()),
            run_session(std::move(socket), shared, std::move(source), describe_peer(remote)),
            asio::detached);
    }
}

}  // namespace

PhoneListener::PhoneListener(asio::io_context& io, PhoneListenerOptions options,
                             TlsCredentials& credentials, SessionHandler handler)
    : io_(io),
      shared_(std::make_shared<Shared>(io, std::move(options), credentials, std::move(handler))) {}

PhoneListener::~PhoneListener() {
    std::error_code ignored;
    shared_->acceptor.close(ignored);
}

void PhoneListener::start() {
    auto& acceptor = shared_->acceptor;
    const auto& ep = shared_->options.endpoint;
    try {
        acceptor.open(ep.protocol());
        acceptor.set_option(asio::ip::tcp::acceptor::reuse_address(true));
        acceptor.bind(ep);
        acceptor.listen(asio::socket_base::max_listen_connections);
    } catch (const std::system_error& e) {
        throw std::system_error(
            e.code(), "listen on " + ep.address().to_string() + ":" + std::to_string(ep.port()));
    }
    asio::co_spawn(shared_->accept_strand, accept_phones(shared_), asio::detached);
    log::info(shared_->options.service + "_listening",
              {{"address", ep.address().to_string()}, {"port", acceptor.local_endpoint().port()}});
}

void PhoneListener::stop() {
    asio::dispatch(shared_->accept_strand, [shared = shared_] {
        std::error_code ignored;
        shared->acceptor.close(ignored);
    });
}

const PhoneListenerStats& PhoneListener::stats() const noexcept {
    return *shared_->stats;
}

std::uint16_t PhoneListener::port() const {
    return shared_->acceptor.local_endpoint().port();
}

}  // namespace capf
