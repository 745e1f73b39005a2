#include "capf/phone/listener.hpp"

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/strand.hpp>
#include <asio/use_awaitable.hpp>

#include "capf/common/log.hpp"
#include "capf/tls/policy.hpp"

namespace capf {

struct PhoneListener::Shared {
    Shared(asio::io_context& io, PhoneListenerOptions opts, TlsCredentials& creds, SessionHandler h)
        : options(std::move(opts)),
          credentials(creds),
          policy(make_tls_policy(options.tls_policy)),
          handler(std::move(h)),
          acceptor(io) {}

    PhoneListenerOptions options;
    TlsCredentials& credentials;
    std::unique_ptr<Botan::TLS::Policy> policy;
    Botan::System_RNG rng;  // thread-safe: shared by every session
    SessionHandler handler;
    asio::ip::tcp::acceptor acceptor;
    std::shared_ptr<PhoneListenerStats> stats = std::make_shared<PhoneListenerStats>();
};

namespace {

std::string describe_peer(const asio::ip::tcp::socket& socket) {
    std::error_code ec;
    const auto ep = socket.remote_endpoint(ec);
    if (ec) {
        return "unknown";
    }
    return ep.address().to_string() + ":" + std::to_string(ep.port());
}

asio::awaitable<void> run_session(asio::ip::tcp::socket socket,
                                  std::shared_ptr<PhoneListener::Shared> shared) {
    auto& stats = *shared->stats;
    struct Active {
        PhoneListenerStats& s;
        ~Active() { --s.active; }
    } active{stats};

    const PeerInfo peer{describe_peer(socket)};
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

asio::awaitable<void> accept_phones(std::shared_ptr<PhoneListener::Shared> shared) {
    auto& stats = *shared->stats;
    auto& acceptor = shared->acceptor;
    for (;;) {
        auto [ec, socket] =
            co_await acceptor.async_accept(asio::experimental::as_tuple(asio::use_awaitable));
        if (!acceptor.is_open()) {
            co_return;
        }
        if (ec) {
            // EMFILE and friends: log and go on rather than stop serving.
            log::warn("phone_accept_failed", {{"error", ec.message()}});
            continue;
        }
        if (stats.active.load() >= shared->options.max_sessions) {
            // Closed at once: nothing waits for a free slot.
            ++stats.rejected_over_limit;
            log::warn("session_limit_reached",
                      {{"peer", describe_peer(socket)}, {"limit", shared->options.max_sessions}});
            std::error_code ignored;
            socket.close(ignored);
            continue;
        }
        ++stats.accepted;
        ++stats.active;
        // Each session on its own strand: its TLS object is only ever
        // touched by one thread at a time.
        asio::co_spawn(asio::make_strand(acceptor.get_executor()),
                       run_session(std::move(socket), shared), asio::detached);
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
    asio::co_spawn(io_, accept_phones(shared_), asio::detached);
    log::info("phone_listening",
              {{"address", ep.address().to_string()}, {"port", acceptor.local_endpoint().port()}});
}

void PhoneListener::stop() {
    std::error_code ignored;
    shared_->acceptor.close(ignored);
}

const PhoneListenerStats& PhoneListener::stats() const noexcept {
    return *shared_->stats;
}

std::uint16_t PhoneListener::port() const {
    return shared_->acceptor.local_endpoint().port();
}

}  // namespace capf
