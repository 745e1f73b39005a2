// The TFTP side of one capfd (issue 12): the TFTP signing identity, the
// configured encryptors, and the worker that delivers the outbox to them.
#pragma once

#include <asio/awaitable.hpp>
#include <cstdint>
#include <memory>
#include <optional>
#include <utility>
#include <vector>

#include "ca/identity.hpp"
#include "capf/common/blocking_pool.hpp"
#include "capf/common/config.hpp"
#include "capf/tftp/delivery_worker.hpp"
#include "capf/tftp/encryptor.hpp"
#include "capf/tftp/identity_source.hpp"
#include "storage/connection_pool_fwd.hpp"
#include "storage/delivery_repository.hpp"

namespace capf::tftp {

class TftpSide {
  public:
    /// Loads the TFTP identity (tftp.identity: RSA only, same file-mode and
    /// passphrase rules as the CAPF key) and makes the encryptors. Throws
    /// CaError or EncryptorError naming what is wrong. Without a "tftp"
    /// section it is off: run() returns at once.
    TftpSide(const Config& config, const ca::Identity& capf_identity, storage::ConnectionPool& db,
             BlockingPool& pool);

    bool enabled() const noexcept { return config_.tftp.has_value(); }
    storage::DeliveryRepository& deliveries() noexcept { return deliveries_; }
    /// Delivers until the io_context stops. The ITL is (re)built first.
    asio::awaitable<void> run();
    /// The identities may have changed: encryptors that depend on them (the
    /// ITL) rebuild. On the blocking pool.
    asio::awaitable<void> identities_changed();
    /// SIGHUP: loads tftp.identity again, with the checks of the start. A
    /// new identity signs every delivery that starts from now on (log
    /// tftp_identity_reloaded); one that cannot be loaded changes nothing
    /// (warning tftp_identity_reload_failed naming the files and why). Then
    /// identities_changed(). On the blocking pool; never throws.
    asio::awaitable<void> reload();
    /// A freshly built ITL and its record count (`capfctl itl build`).
    /// Throws EncryptorError when the TFTP side is off.
    std::pair<std::vector<std::uint8_t>, std::size_t> build_itl() const;
    const DeliveryCounters* counters() const noexcept;

  private:
    /// Blocking parts of identities_changed() and reload().
    void rebuild_encryptors();
    void reload_identity();

    const Config& config_;
    BlockingPool& pool_;
    storage::DeliveryRepository deliveries_;
    /// Null when the TFTP side is off.
    std::shared_ptr<IdentitySource> tftp_identity_;
    std::optional<Botan::X509_Certificate> capf_certificate_;
    Encryptors encryptors_;
    std::unique_ptr<DeliveryWorker> worker_;
};

}  // namespace capf::tftp
