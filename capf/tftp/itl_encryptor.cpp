#include "capf/tftp/itl_encryptor.hpp"

#include <botan/auto_rng.h>

#include <array>
#include <chrono>

#include "ca/error.hpp"
#include "ca/tftp_files.hpp"
#include "capf/common/atomic_file.hpp"
#include "capf/tftp/itl_roles.hpp"
#include "capf/tftp/signing_options.hpp"

namespace capf::tftp {

ItlEncryptor::ItlEncryptor(ItlEncryptorConfig settings, std::filesystem::path tftp_directory,
                           std::shared_ptr<const IdentitySource> tftp_signer,
                           Botan::X509_Certificate capf_certificate,
                           std::shared_ptr<const TvsCertificates> tvs_certificates)
    : settings_(std::move(settings)),
      target_(std::move(tftp_directory) / "ITLFile.tlv"),
      signer_(std::move(tftp_signer)),
      capf_certificate_(std::move(capf_certificate)),
      tvs_certificates_(std::move(tvs_certificates)) {
    for (const auto& extra : settings_.extra) {
        (void)itl_role(extra.role);  // refuses an unknown role now, not at the first build
        try {
            extra_.emplace_back(Botan::X509_Certificate(extra.certificate.string()), extra.role);
        } catch (const std::exception& e) {
            throw EncryptorError("itl: cannot read the certificate " + extra.certificate.string() +
                                 ": " + e.what());
        }
    }
}

std::vector<ca::ItlEntry> ItlEncryptor::entries() const {
    return entries(*signer_->current());
}

std::vector<ca::ItlEntry> ItlEncryptor::entries(const ca::Identity& signer) const {
    std::vector<ca::ItlEntry> extra;
    for (const auto& [certificate, role] : extra_)
        extra.push_back({certificate, itl_role(role)});
    // Every node's TVS (section 9: "a TVS certificate with role TVS where
    // one runs"); the rollback ITL drops them with the other TVS records.
    if (tvs_certificates_) {
        for (auto& certificate : tvs_certificates_->current())
            extra.push_back({std::move(certificate), protocol::ItlRole::tvs});
    }
    if (rollback())
        return ca::rollback_itl_entries(signer, capf_certificate_, extra);
    std::vector<ca::ItlEntry> entries = ca::minimal_itl_entries(signer, capf_certificate_);
    entries.insert(entries.end(), extra.begin(), extra.end());
    return entries;
}

bool ItlEncryptor::set_stored_rollback(bool on) noexcept {
    const bool before = rollback();
    stored_rollback_ = on;
    return rollback() != before;
}

std::vector<std::uint8_t> ItlEncryptor::itl_bytes() const {
    const ca::SignedFileOptions options = signing_options(settings_.hash);
    thread_local Botan::AutoSeeded_RNG rng;
    // The signer and its SAST/TFTP records from one snapshot: a SIGHUP
    // meanwhile cannot make an ITL signed by a key it does not list.
    const std::shared_ptr<const ca::Identity> signer = signer_->current();
    try {
        return ca::build_itl(entries(*signer), *signer, options, rng);
    } catch (const ca::CaError& e) {
        throw EncryptorError("itl: " + target_.string() + ": " + e.what());
    }
}

void ItlEncryptor::build(const LeaseGuard& lease) {
    write_file_atomically(target_, itl_bytes(), 0644, [&] {
        lease.require(std::chrono::milliseconds(0), "replacing " + target_.string());
    });
}

void ItlEncryptor::deliver(const DeviceFacts& /*facts*/, DeliveryChange /*change*/,
                           const LeaseGuard& lease) {
    deliver_fleet(lease);
}

void ItlEncryptor::deliver_fleet(const LeaseGuard& lease) {
    const std::lock_guard lock(build_);
    if (!std::filesystem::exists(target_))
        build(lease);
}

void ItlEncryptor::identities_changed() {
    const std::lock_guard lock(build_);
    // Not a device's delivery: the ITL follows this node's identities.
    build(LeaseGuard::unlimited());
}

}  // namespace capf::tftp
