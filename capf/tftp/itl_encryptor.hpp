// `itl`: ITLFile.tlv (protocol/README.md, section 9) in the TFTP directory:
// the TFTP signer as SAST and TFTP, the CAPF certificate as CAPF, then the
// configured extra certificates with their roles. While rollback is on (the
// config's `rollback`, or the cluster's setting), the rollback ITL instead
// (protocol/README.md, "Rollback ITL").
#pragma once

#include <botan/x509cert.h>

#include <atomic>
#include <filesystem>
#include <memory>
#include <mutex>
#include <vector>

#include "ca/tftp_files.hpp"
#include "capf/common/config.hpp"
#include "capf/tftp/encryptor.hpp"
#include "capf/tftp/identity_source.hpp"

namespace capf::tftp {

class ItlEncryptor : public Encryptor {
  public:
    /// Reads the extra certificates now (throws EncryptorError naming a file
    /// that cannot be read or parsed, or an unknown role). Each build signs
    /// with, and lists as SAST and TFTP, the identity `tftp_signer` holds
    /// then (it may be replaced on SIGHUP; identities_changed() follows).
    ItlEncryptor(ItlEncryptorConfig settings, std::filesystem::path tftp_directory,
                 std::shared_ptr<const IdentitySource> tftp_signer,
                 Botan::X509_Certificate capf_certificate,
                 std::shared_ptr<const TvsCertificates> tvs_certificates = nullptr);

    std::string_view name() const override { return "itl"; }
    /// The ITL does not depend on devices: once per batch is enough.
    EncryptorScope scope() const override { return EncryptorScope::fleet; }
    /// The ITL does not depend on devices: builds it only when it is
    /// missing (and `lease` allows it).
    void deliver(const DeviceFacts& facts, DeliveryChange change, const LeaseGuard& lease) override;
    /// The same.
    void deliver_fleet(const LeaseGuard& lease) override;
    /// Rebuilds ITLFile.tlv.
    void identities_changed() override;
    /// The ITL as build() writes it (for `capfctl itl build`).
    std::vector<std::uint8_t> itl_bytes() const;
    /// The certificates it lists, in order.
    std::vector<ca::ItlEntry> entries() const;
    /// The cluster's stored rollback setting; returns whether rollback()
    /// changed. The caller rebuilds (identities_changed()) when it did.
    bool set_stored_rollback(bool on) noexcept;
    /// Whether it publishes the rollback ITL: the config's `rollback` or the
    /// stored setting.
    bool rollback() const noexcept { return settings_.rollback || stored_rollback_; }

  private:
    void build(const LeaseGuard& lease);
    std::vector<ca::ItlEntry> entries(const ca::Identity& signer) const;

    ItlEncryptorConfig settings_;
    std::filesystem::path target_;
    std::shared_ptr<const IdentitySource> signer_;
    Botan::X509_Certificate capf_certificate_;
    /// Null: no TVS records (tests that build an ITL without a store).
    std::shared_ptr<const TvsCertificates> tvs_certificates_;
    std::vector<std::pair<Botan::X509_Certificate, std::string>> extra_;
    std::atomic<bool> stored_rollback_{false};
    std::mutex build_;
};

}  // namespace capf::tftp
