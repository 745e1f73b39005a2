#include "capf/tftp/tftp_side.hpp"

#include "ca/tftp_files.hpp"
#include "capf/common/log.hpp"
#include "capf/tftp/itl_encryptor.hpp"
#include "capf/tftp/registry.hpp"

namespace capf::tftp {
namespace {

ca::Identity load_tftp_identity(const Config::KeyPair& files) {
    auto identity = ca::load_identity(files.certificate, files.private_key,
                                      ca::Passphrase{files.passphrase_file, files.passphrase_env});
    ca::require_tftp_signing_key(identity);
    return identity;
}

DeliverySettings delivery_settings(const Config& config) {
    DeliverySettings s;
    s.node = config.node.name;
    if (config.tftp) {
        const auto& d = config.tftp->delivery;
        s.batch = d.batch;
        s.lease = std::chrono::duration_cast<std::chrono::seconds>(d.lease);
        s.retry_first = std::chrono::duration_cast<std::chrono::seconds>(d.retry_first);
        s.retry_max = std::chrono::duration_cast<std::chrono::seconds>(d.retry_max);
        s.parked_recheck = d.parked_recheck;
    }
    return s;
}

}  // namespace

TftpSide::TftpSide(const Config& config, const ca::Identity& capf_identity,
                   storage::ConnectionPool& db, BlockingPool& pool)
    : config_(config), pool_(pool), deliveries_(db) {
    if (!config.tftp)
        return;
    tftp_identity_.emplace(load_tftp_identity(config.tftp->identity));
    capf_certificate_.emplace(capf_identity.certificate());
    TftpDependencies deps{*tftp_identity_, capf_certificate_,
                          [this](const std::string& after, std::size_t limit) {
                              return deliveries_.all_device_facts("", after, limit);
                          }};
    encryptors_ = make_encryptors(config, deps);
    worker_ = std::make_unique<DeliveryWorker>(delivery_settings(config), deliveries_, encryptors_,
                                               pool_);
    std::string names;
    for (const auto& e : encryptors_)
        names += (names.empty() ? "" : ",") + std::string(e->name());
    log::info("tftp_side", {{"directory", config.tftp->directory.string()},
                            {"signer", tftp_identity_->certificate().subject_dn().to_string()},
                            {"encryptors", names}});
}

asio::awaitable<void> TftpSide::identities_changed() {
    auto rebuild = [this] {
        for (const auto& e : encryptors_) {
            try {
                e->identities_changed();
            } catch (const std::exception& error) {
                log::warn("encryptor_rebuild_failed",
                          {{"encryptor", std::string(e->name())}, {"error", error.what()}});
            }
        }
    };
    co_await pool_.run(rebuild);
}

asio::awaitable<void> TftpSide::run() {
    if (!worker_)
        co_return;
    co_await identities_changed();
    co_await worker_->run();
}

std::pair<std::vector<std::uint8_t>, std::size_t> TftpSide::build_itl() const {
    if (!tftp_identity_ || !capf_certificate_)
        throw EncryptorError("the TFTP side is off: configure \"tftp\" (deploy/CONFIG.md)");
    for (const auto& e : encryptors_) {
        if (const auto* itl = dynamic_cast<const ItlEncryptor*>(e.get()))
            return {itl->itl_bytes(), itl->entries().size()};
    }
    // No `itl` encryptor configured: the minimal ITL, as it would write it.
    const ItlEncryptor minimal(ItlEncryptorConfig{}, config_.tftp->directory, *tftp_identity_,
                               *capf_certificate_);
    return {minimal.itl_bytes(), minimal.entries().size()};
}

const DeliveryCounters* TftpSide::counters() const noexcept {
    return worker_ ? &worker_->counters() : nullptr;
}

}  // namespace capf::tftp
