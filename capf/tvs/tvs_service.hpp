// The Trust Verification Service of one capfd (issue 34): its TLS identity,
// its listener on tvs.listen (the phone listener's machinery, with its own
// limits), the in-memory view of the trusted-certificate store and what
// keeps that view current.
#pragma once

#include <asio/awaitable.hpp>
#include <asio/io_context.hpp>
#include <memory>

#include "ca/identity.hpp"
#include "capf/common/blocking_pool.hpp"
#include "capf/common/config.hpp"
#include "capf/common/session_stats.hpp"
#include "capf/phone/listener.hpp"
#include "capf/tls/session.hpp"
#include "capf/tvs/trusted_view.hpp"
#include "storage/connection_pool_fwd.hpp"

namespace capf::storage {
class TrustedCertificateRepository;
}

namespace capf::tvs {

class TvsService {
  public:
    /// Loads tvs.identity (same file-mode and passphrase rules as the CAPF
    /// key; throws CaError naming the files). `config.tvs` must be set.
    /// Lifetime: every argument outlives the service.
    TvsService(asio::io_context& io, const Config& config,
               storage::TrustedCertificateRepository& store, BlockingPool& pool);
    ~TvsService();

    /// Loads the view (blocking: before the I/O threads run) and starts
    /// accepting. Throws std::system_error when the port cannot be bound,
    /// StorageError when the store cannot be read.
    void start();
    /// Stops accepting; connections being served finish.
    void stop();
    /// Keeps the view current every tvs.refresh_interval until the
    /// io_context stops.
    asio::awaitable<void> run();
    /// Reads the store now (after a change through this node's admin
    /// socket, so that it is answered at once). On the pool; never throws.
    asio::awaitable<void> refresh();

    const ca::Identity& identity() const noexcept { return identity_; }
    std::uint16_t port() const { return listener_->port(); }
    const PhoneListenerStats& connections() const noexcept { return listener_->stats(); }
    const TvsStats& answers() const noexcept { return stats_; }
    std::size_t certificates() const { return view_.current()->size(); }
    /// Certificates in the view and the store version it was loaded at.
    std::pair<std::size_t, std::int64_t> view_size_and_version() const {
        const auto view = view_.current();
        return {view->size(), view->version()};
    }

  private:
    const Config& config_;
    storage::TrustedCertificateRepository& store_;
    BlockingPool& pool_;
    const ca::Identity identity_;
    TlsCredentials credentials_;
    TrustedView view_;
    TvsStats stats_;
    std::unique_ptr<PhoneListener> listener_;
};

}  // namespace capf::tvs
