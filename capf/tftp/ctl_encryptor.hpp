// `ctl`: CTLFile.tlv (protocol/README.md, section 10) in the TFTP directory:
// SAST1 and SAST2, the TFTP certificate, the CAPF certificate and the
// configured extras, signed by the configured SAST. A phone that holds a
// CTL accepts a new one only when it is signed by a SAST of the CTL it
// holds, so a CTL signed by any other key would strand every phone: before
// replacing CTLFile.tlv, the encryptor checks the new file the way a phone
// would, against the SAST records of the CTL it published last, and keeps
// the old file unless an administrator overrides (issue 34).
#pragma once

#include <botan/x509cert.h>

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "ca/tftp_files.hpp"
#include "capf/common/config.hpp"
#include "capf/tftp/encryptor.hpp"
#include "capf/tftp/identity_source.hpp"

namespace capf::tftp {

/// What publish() did.
struct CtlPublication {
    bool published = false;
    std::filesystem::path file;
    std::string signer;         ///< subject, RFC 4514
    std::string signer_serial;  ///< hex
    std::size_t records = 0;
    /// Why it was not published (empty when it was).
    std::string refusal;
};

class CtlEncryptor : public Encryptor {
  public:
    /// Loads SAST1, SAST2 (and the signer's key) and the extra certificates
    /// now: throws EncryptorError naming a file that cannot be read, a SAST
    /// that is not RSA, or SASTs that share one key.
    CtlEncryptor(CtlEncryptorConfig settings, std::filesystem::path tftp_directory,
                 std::shared_ptr<const IdentitySource> tftp_identity,
                 Botan::X509_Certificate capf_certificate);

    std::string_view name() const override { return "ctl"; }
    /// Per device with per_device (CTLSEP<MAC>.tlv), else once per batch.
    EncryptorScope scope() const override;
    /// Publishes CTLFile.tlv when it is missing; with per_device, writes
    /// the published bytes as CTL<device>.tlv (removes it for a removed
    /// device).
    void deliver(const DeviceFacts& facts, DeliveryChange change, const LeaseGuard& lease) override;
    void deliver_fleet(const LeaseGuard& lease) override;
    /// Publishes again (SIGHUP reads the SAST files again); a refusal is
    /// logged and counted, not thrown.
    void identities_changed() override;

    /// Builds the CTL from the files as they are now and replaces
    /// CTLFile.tlv, unless the CTL published last holds no SAST record
    /// whose certificate verifies the new file and `allow_new_signer` is
    /// false: then logs error ctl_signer_not_trusted naming both, counts it
    /// and keeps the old file. Throws EncryptorError when the CTL cannot be
    /// built (a SAST file unreadable) or written.
    CtlPublication publish(const LeaseGuard& lease, bool allow_new_signer);
    /// A freshly built CTL, not written anywhere.
    std::vector<std::uint8_t> ctl_bytes() const;
    /// The published CTLFile.tlv for people and scripts (`capfctl ctl show`):
    /// records, signer, which SAST it is, whether its signature verifies
    /// with that SAST record's certificate. Throws EncryptorError when there
    /// is none or it does not parse.
    nlohmann::json describe_published() const;
    /// Publications refused since start (ctl_signer_not_trusted).
    std::uint64_t signer_refusals() const noexcept { return refusals_; }

  private:
    struct Sasts {
        std::shared_ptr<const ca::Identity> signer;
        Botan::X509_Certificate sast1;
        Botan::X509_Certificate sast2;
    };
    Sasts load_sasts() const;
    nlohmann::json which_sast(const Botan::X509_Certificate& cert) const;
    std::vector<std::uint8_t> build(const Sasts& sasts) const;
    /// Why `next` would strand phones holding the published CTL, or nothing.
    std::optional<std::string> untrusted_signer(const std::vector<std::uint8_t>& next) const;
    CtlPublication publish_locked(const LeaseGuard& lease, bool allow_new_signer);

    CtlEncryptorConfig settings_;
    std::filesystem::path directory_;
    std::filesystem::path target_;
    std::shared_ptr<const IdentitySource> tftp_;
    Botan::X509_Certificate capf_certificate_;
    std::vector<ca::ItlEntry> extra_;
    std::atomic<std::uint64_t> refusals_{0};
    std::mutex build_;
};

}  // namespace capf::tftp
