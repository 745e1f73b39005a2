#include "capf/tftp/tftp_side.hpp"

#include <botan/hex.h>

#include "ca/tftp_files.hpp"
#include "capf/common/log.hpp"
#include "capf/tftp/ctl_encryptor.hpp"
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
    : config_(config), pool_(pool), deliveries_(db), settings_(db) {
    if (!config.tftp)
        return;
    tftp_identity_ = std::make_shared<IdentitySource>(load_tftp_identity(config.tftp->identity));
    capf_certificate_.emplace(capf_identity.certificate());
    TftpDependencies deps{tftp_identity_, capf_certificate_,
                          [this](const std::string& after, std::size_t limit) {
                              return deliveries_.all_device_facts("", after, limit);
                          },
                          tvs_certificates_};
    encryptors_ = make_encryptors(config, deps);
    worker_ = std::make_unique<DeliveryWorker>(delivery_settings(config), deliveries_, encryptors_,
                                               pool_);
    std::string names;
    for (const auto& e : encryptors_)
        names += (names.empty() ? "" : ",") + std::string(e->name());
    log::info("tftp_side",
              {{"directory", config.tftp->directory.string()},
               {"signer", tftp_identity_->current()->certificate().subject_dn().to_string()},
               {"encryptors", names}});
}

void TftpSide::rebuild_encryptors() {
    for (const auto& e : encryptors_) {
        try {
            e->identities_changed();
        } catch (const std::exception& error) {
            log::warn("encryptor_rebuild_failed",
                      {{"encryptor", std::string(e->name())}, {"error", error.what()}});
        }
    }
}

void TftpSide::reload_identity() {
    const Config::KeyPair& files = config_.tftp->identity;
    try {
        ca::Identity next = load_tftp_identity(files);
        const std::string subject = ca::rfc4514_name(next.certificate().subject_dn());
        const std::string serial = Botan::hex_encode(next.certificate().serial_number(), false);
        if (!tftp_identity_->replace(std::move(next))) {
            log::info("tftp_identity_unchanged",
                      {{"certificate", files.certificate.string()}, {"subject", subject}});
            return;
        }
        log::info("tftp_identity_reloaded", {{"certificate", files.certificate.string()},
                                             {"subject", subject},
                                             {"serial", serial}});
    } catch (const std::exception& e) {
        // Whatever is wrong with the files (missing, mode, not RSA, wrong
        // passphrase, a certificate and key that do not match, perhaps
        // caught half-copied), capfd goes on signing with what it had.
        const auto kept = tftp_identity_->current();
        log::warn("tftp_identity_reload_failed",
                  {{"certificate", files.certificate.string()},
                   {"private_key", files.private_key.string()},
                   {"error", e.what()},
                   {"kept", ca::rfc4514_name(kept->certificate().subject_dn())}});
    }
}

asio::awaitable<void> TftpSide::identities_changed() {
    co_await pool_.run([this] { rebuild_encryptors(); });
}

asio::awaitable<void> TftpSide::reload() {
    if (!tftp_identity_)
        co_return;
    co_await pool_.run([this] {
        reload_identity();
        // Also when the identity stayed: SIGHUP has always rewritten the
        // ITL, and an operator may rely on it to replace a damaged file.
        rebuild_encryptors();
    });
}

asio::awaitable<void> TftpSide::run() {
    if (!worker_)
        co_return;
    co_await pool_.run([this] { apply_itl_rollback(true); });
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
    const ItlEncryptor minimal(ItlEncryptorConfig{}, config_.tftp->directory, tftp_identity_,
                               *capf_certificate_);
    return {minimal.itl_bytes(), minimal.entries().size()};
}

ItlEncryptor* TftpSide::itl_encryptor() const {
    for (const auto& e : encryptors_) {
        if (auto* itl = dynamic_cast<ItlEncryptor*>(e.get()))
            return itl;
    }
    return nullptr;
}

CtlEncryptor* TftpSide::ctl_encryptor() const {
    for (const auto& e : encryptors_) {
        if (auto* ctl = dynamic_cast<CtlEncryptor*>(e.get()))
            return ctl;
    }
    return nullptr;
}

nlohmann::json TftpSide::publish_ctl(bool allow_new_signer) {
    CtlEncryptor* ctl = ctl_encryptor();
    if (ctl == nullptr)
        throw EncryptorError(
            "no CTL: add {\"type\": \"ctl\"} to tftp.encryptors (deploy/CONFIG.md)");
    const CtlPublication p = ctl->publish(LeaseGuard::unlimited(), allow_new_signer);
    return {{"published", p.published},         {"file", p.file.string()}, {"signer", p.signer},
            {"signer_serial", p.signer_serial}, {"records", p.records},    {"refusal", p.refusal}};
}

nlohmann::json TftpSide::show_ctl() const {
    const CtlEncryptor* ctl = ctl_encryptor();
    if (ctl == nullptr)
        throw EncryptorError(
            "no CTL: add {\"type\": \"ctl\"} to tftp.encryptors (deploy/CONFIG.md)");
    return ctl->describe_published();
}

std::optional<std::uint64_t> TftpSide::ctl_signer_refusals() const {
    const CtlEncryptor* ctl = ctl_encryptor();
    return ctl == nullptr ? std::nullopt : std::optional(ctl->signer_refusals());
}

void TftpSide::apply_itl_rollback(bool at_start) {
    ItlEncryptor* itl = itl_encryptor();
    if (itl == nullptr)
        return;
    bool stored = false;
    try {
        stored = settings_.flag(storage::itl_rollback_setting);
    } catch (const std::exception& e) {
        log::warn("itl_rollback_read_failed", {{"error", e.what()}});
        if (!at_start)
            return;  // the next poll tries again; the ITL stays as it is
    }
    const bool flipped = itl->set_stored_rollback(stored);
    if (!at_start && !flipped)
        return;
    if (itl->rollback()) {
        const bool configured = itl_rollback_configured(config_);
        log::warn("itl_rollback_on",
                  {{"source", configured && stored ? "config and cluster setting"
                              : configured         ? "config (tftp.encryptors[].rollback)"
                                                   : "cluster setting (capfctl itl rollback)"},
                   {"hint",
                    "ITLFile.tlv is the rollback ITL: phones that load it accept any ITL and "
                    "unsigned configuration files; switch it off once the phones have moved"}});
    } else if (!at_start) {
        log::info("itl_rollback_off",
                  {{"file", (config_.tftp->directory / "ITLFile.tlv").string()}});
    }
    if (at_start)
        return;  // run() builds the ITL next
    try {
        itl->identities_changed();
    } catch (const std::exception& e) {
        log::warn("encryptor_rebuild_failed", {{"encryptor", "itl"}, {"error", e.what()}});
    }
}

void TftpSide::apply_stored_itl_rollback() {
    apply_itl_rollback(false);
}

asio::awaitable<void> TftpSide::poll_itl_rollback() {
    if (!worker_)
        co_return;
    co_await pool_.run([this] { apply_itl_rollback(false); });
}

const DeliveryCounters* TftpSide::counters() const noexcept {
    return worker_ ? &worker_->counters() : nullptr;
}

}  // namespace capf::tftp
