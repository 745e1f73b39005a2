#include "capf/tvs/tvs_service.hpp"

#include <botan/pkix_types.h>

#include "ca/identity.hpp"
#include "capf/common/log.hpp"
#include "capf/tvs/session.hpp"
#include "capf/tvs/view_refresh.hpp"

namespace capf::tvs {
namespace {

ca::Identity load_tvs_identity(const Config::KeyPair& files) {
    return ca::load_identity(files.certificate, files.private_key,
                             ca::Passphrase{files.passphrase_file, files.passphrase_env});
}

PhoneListenerOptions listener_options(const Config& c) {
    const Config::Tvs& tvs = *c.tvs;
    PhoneListenerOptions options;
    options.endpoint =
        asio::ip::tcp::endpoint(asio::ip::make_address(tvs.listen.address), tvs.listen.port);
    options.max_sessions = tvs.max_sessions;
    options.max_sessions_per_source = tvs.max_sessions_per_source;
    options.handshake_timeout = c.limits.handshake_timeout;
    options.tls_policy = c.tls.policy;
    options.accept_backoff = c.limits.accept_backoff;
    options.service = "tvs";
    return options;
}

TvsSessionSettings session_settings(const Config::Tvs& tvs) {
    TvsSessionSettings settings;
    settings.read_timeout = tvs.read_timeout;
    settings.write_timeout = tvs.read_timeout;
    settings.max_requests_per_connection = tvs.max_requests_per_connection;
    settings.limits.max_body_size = tvs.max_request_size;
    return settings;
}

}  // namespace

TvsService::TvsService(asio::io_context& io, const Config& config,
                       storage::TrustedCertificateRepository& store, BlockingPool& pool)
    : config_(config),
      store_(store),
      pool_(pool),
      identity_(load_tvs_identity(config.tvs->identity)),
      credentials_(identity_.chain, identity_.key),
      listener_(std::make_unique<PhoneListener>(
          io, listener_options(config), credentials_,
          make_tvs_session_handler(session_settings(*config.tvs), view_, stats_))) {}

TvsService::~TvsService() = default;

void TvsService::start() {
    load_view(view_, store_, true);
    listener_->start();
    log::info("tvs_started", {{"port", listener_->port()},
                              {"certificates", static_cast<unsigned long long>(certificates())},
                              {"identity", identity_.chain.front().subject_dn().to_string()}});
}

void TvsService::stop() {
    listener_->stop();
}

asio::awaitable<void> TvsService::run() {
    co_await keep_view_current(view_, store_, pool_, config_.tvs->refresh_interval);
}

asio::awaitable<void> TvsService::refresh() {
    try {
        co_await pool_.run([this] { return load_view(view_, store_); });
    } catch (const std::exception& e) {
        log::warn("tvs_view_refresh_failed", {{"error", e.what()}});
    }
}

}  // namespace capf::tvs
