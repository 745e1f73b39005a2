// `enc-sgn`: SEP<MAC>.cnf.xml.enc.sgn (protocol/README.md 8.2) and the signed
// partial SEP<MAC>.cnf.xml.sgn (8.3) in the TFTP directory, from the plain
// SEP<MAC>.cnf.xml the provisioning system writes to a source directory.
#pragma once

#include <filesystem>
#include <memory>

#include "capf/common/config.hpp"
#include "capf/tftp/encryptor.hpp"
#include "capf/tftp/identity_source.hpp"

namespace capf::tftp {

class EncSgnEncryptor : public Encryptor {
  public:
    /// Each delivery signs with the identity `tftp_signer` holds when it
    /// starts (it may be replaced on SIGHUP).
    EncSgnEncryptor(EncSgnEncryptorConfig settings, std::filesystem::path tftp_directory,
                    std::shared_ptr<const IdentitySource> tftp_signer);

    std::string_view name() const override { return "enc-sgn"; }
    /// With a key on record and no delete: writes the .enc.sgn, then the
    /// partial with certHash = the MD5 (in that order, so a phone that reads
    /// the new certHash finds its .enc.sgn). Otherwise: the partial with an
    /// empty certHash, then removes the .enc.sgn (the phone goes back to
    /// CAPF). The plaintext is never written into the TFTP directory; every
    /// file appears atomically, each replaced or removed only when `lease`
    /// allows it. Throws EncryptorError (no source file, bad XML, EC key,
    /// I/O, the lease running out) with nothing half-written.
    void deliver(const DeviceFacts& facts, DeliveryChange change, const LeaseGuard& lease) override;
    /// no_source_file: whether source_directory/DEVICE.cnf.xml exists now.
    bool parked_cause_cleared(const std::string& device, ParkCause cause) const override;

  private:
    EncSgnEncryptorConfig settings_;
    std::filesystem::path tftp_directory_;
    std::shared_ptr<const IdentitySource> signer_;
};

}  // namespace capf::tftp
