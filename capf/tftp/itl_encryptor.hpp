// `itl`: ITLFile.tlv (protocol/README.md, section 9) in the TFTP directory:
// the TFTP signer as SAST and TFTP, the CAPF certificate as CAPF, then the
// configured extra certificates with their roles.
#pragma once

#include <botan/x509cert.h>

#include <filesystem>
#include <mutex>
#include <vector>

#include "ca/identity.hpp"
#include "ca/tftp_files.hpp"
#include "capf/common/config.hpp"
#include "capf/tftp/encryptor.hpp"

namespace capf::tftp {

class ItlEncryptor : public Encryptor {
  public:
    /// Reads the extra certificates now (throws EncryptorError naming a file
    /// that cannot be read or parsed, or an unknown role). The identities are
    /// copied; the signer must be RSA (ca::require_tftp_signing_key).
    ItlEncryptor(ItlEncryptorConfig settings, std::filesystem::path tftp_directory,
                 const ca::Identity& tftp_signer, Botan::X509_Certificate capf_certificate);

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

  private:
    void build(const LeaseGuard& lease);

    ItlEncryptorConfig settings_;
    std::filesystem::path target_;
    ca::Identity signer_;
    Botan::X509_Certificate capf_certificate_;
    std::vector<std::pair<Botan::X509_Certificate, std::string>> extra_;
    std::mutex build_;
};

}  // namespace capf::tftp
