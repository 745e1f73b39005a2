// The TFTP side of one capfd (issue 12): the TFTP signing identity, the
// configured encryptors, and the worker that delivers the outbox to them.
#pragma once

#include <asio/awaitable.hpp>
#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <utility>
#include <vector>

#include "ca/identity.hpp"
#include "capf/common/blocking_pool.hpp"
#include "capf/common/config.hpp"
#include "capf/tftp/delivery_worker.hpp"
#include "capf/tftp/encryptor.hpp"
#include "capf/tftp/identity_source.hpp"
#include "storage/cluster_settings.hpp"
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
    /// The TFTP identity in use; null when the TFTP side is off.
    std::shared_ptr<const ca::Identity> tftp_identity() const {
        return tftp_identity_ ? tftp_identity_->current() : nullptr;
    }
    /// Every node's TVS certificate, for the ITL's TVS records. Whether the
    /// list changed; the caller then calls identities_changed(). Thread-safe.
    bool set_tvs_certificates(std::vector<Botan::X509_Certificate> certificates) {
        return tvs_certificates_->replace(std::move(certificates));
    }

    /// `capfctl ctl publish`: CtlEncryptor::publish() now, as JSON
    /// ({published, file, signer, signer_serial, records, refusal}).
    /// Throws EncryptorError when no `ctl` encryptor is configured.
    /// Blocking.
    nlohmann::json publish_ctl(bool allow_new_signer);
    /// `capfctl ctl show`: CtlEncryptor::describe_published(). Same errors.
    nlohmann::json show_ctl() const;
    /// CTL publications refused since start; nothing without a `ctl` encryptor.
    std::optional<std::uint64_t> ctl_signer_refusals() const;
    /// Reads the cluster's rollback setting (storage::itl_rollback_setting)
    /// and, when it turns the `itl` encryptor's rollback on or off, rebuilds
    /// ITLFile.tlv (warning itl_rollback_on, or itl_rollback_off). A
    /// database error is logged and changes nothing. Blocking.
    void apply_stored_itl_rollback();
    /// The same on the blocking pool: capfd's maintenance polls with it, so
    /// a change made on another node arrives within its period.
    asio::awaitable<void> poll_itl_rollback();

  private:
    /// Blocking parts of identities_changed() and reload().
    void rebuild_encryptors();
    void reload_identity();
    /// The stored rollback setting given to the `itl` encryptor; at start
    /// (the ITL is built next) only the warning when it is on.
    void apply_itl_rollback(bool at_start);
    class ItlEncryptor* itl_encryptor() const;
    class CtlEncryptor* ctl_encryptor() const;

    const Config& config_;
    BlockingPool& pool_;
    storage::DeliveryRepository deliveries_;
    storage::ClusterSettings settings_;
    /// Null when the TFTP side is off.
    std::shared_ptr<IdentitySource> tftp_identity_;
    std::optional<Botan::X509_Certificate> capf_certificate_;
    std::shared_ptr<TvsCertificates> tvs_certificates_ = std::make_shared<TvsCertificates>();
    Encryptors encryptors_;
    std::unique_ptr<DeliveryWorker> worker_;
};

}  // namespace capf::tftp
