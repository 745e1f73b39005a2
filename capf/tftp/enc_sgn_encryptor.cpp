#include "capf/tftp/enc_sgn_encryptor.hpp"

#include <botan/auto_rng.h>

#include <chrono>

#include "ca/error.hpp"
#include "ca/tftp_files.hpp"
#include "capf/common/atomic_file.hpp"
#include "capf/tftp/enc_sgn_plan.hpp"
#include "capf/tftp/partial_config.hpp"
#include "capf/tftp/signing_options.hpp"

namespace capf::tftp {
namespace {

std::span<const std::uint8_t> bytes_of(const std::string& text) {
    return {reinterpret_cast<const std::uint8_t*>(text.data()), text.size()};
}

/// Asks the lease just before `target` is replaced or removed.
BeforeReplace checked_by(const LeaseGuard& lease, const std::filesystem::path& target) {
    return [&lease, &target] {
        lease.require(std::chrono::milliseconds(0), "replacing " + target.string());
    };
}

}  // namespace

EncSgnEncryptor::EncSgnEncryptor(EncSgnEncryptorConfig settings,
                                 std::filesystem::path tftp_directory,
                                 std::shared_ptr<const IdentitySource> tftp_signer)
    : settings_(std::move(settings)),
      tftp_directory_(std::move(tftp_directory)),
      signer_(std::move(tftp_signer)) {}

void EncSgnEncryptor::deliver(const DeviceFacts& facts, DeliveryChange change,
                              const LeaseGuard& lease) {
    // One identity for both files, even if SIGHUP replaces it meanwhile.
    const std::shared_ptr<const ca::Identity> signer = signer_->current();
    const EncSgnPlan plan = plan_enc_sgn(facts, change, settings_.source_directory, tftp_directory_,
                                         settings_.sign_plain_when_revoked);
    if (plan.signed_file == EncSgnPlan::Signed::withdrawn) {
        // Nothing is read: the source may be gone with the device. The
        // encrypted file first, so no moment serves it beside a new .sgn.
        remove_file_durably(plan.encrypted_target, checked_by(lease, plan.encrypted_target));
        remove_file_durably(plan.partial_target, checked_by(lease, plan.partial_target));
        return;
    }
    const std::string xml = read_source_config(plan);
    // Parsed before anything is written: a source that is not a <device>
    // document leaves the TFTP directory as it was.
    const std::string signed_text = plan.signed_file == EncSgnPlan::Signed::whole
                                        ? xml
                                        : partial_config(xml, plan.source.string(), plan.cert_hash);
    thread_local Botan::AutoSeeded_RNG rng;
    const ca::SignedFileOptions options = signing_options(settings_.hash);
    if (!plan.encrypt)
        remove_file_durably(plan.encrypted_target, checked_by(lease, plan.encrypted_target));
    try {
        if (plan.encrypt) {
            write_file_atomically(
                plan.encrypted_target,
                ca::build_encrypted_config(xml, *facts.public_key_der,
                                           plan.encrypted_target.filename().string(), *signer,
                                           options, rng),
                0644, checked_by(lease, plan.encrypted_target));
        }
        write_file_atomically(
            plan.partial_target,
            ca::build_signed_file(bytes_of(signed_text), plan.partial_target.filename().string(),
                                  *signer, options, rng),
            0644, checked_by(lease, plan.partial_target));
    } catch (const ca::CaError& e) {
        throw EncryptorError("enc-sgn: " + facts.name + ": " + e.what());
    }
    if (plan.encrypt && settings_.remove_plaintext)
        remove_file_durably(plan.plaintext_in_tftp, checked_by(lease, plan.plaintext_in_tftp));
}

bool EncSgnEncryptor::parked_cause_cleared(const std::string& device, ParkCause cause) const {
    if (cause != ParkCause::no_source_file || device.find('/') != std::string::npos)
        return false;
    std::error_code error;
    return std::filesystem::exists(settings_.source_directory / (device + ".cnf.xml"), error);
}

}  // namespace capf::tftp
