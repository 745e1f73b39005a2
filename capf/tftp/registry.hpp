// Builds the configured encryptors (tftp.encryptors) by type name.
#pragma once

#include <botan/x509cert.h>

#include <functional>
#include <memory>

#include "capf/common/config.hpp"
#include "capf/tftp/encryptor.hpp"
#include "capf/tftp/hashes_file_encryptor.hpp"
#include "capf/tftp/identity_source.hpp"

namespace capf::tftp {

/// What the encryptors need from the rest of capfd.
struct TftpDependencies {
    /// Signs .sgn, .enc.sgn and ITL files (RSA). Shared by the encryptors,
    /// which read it at each delivery: a SIGHUP replaces the identity in it.
    /// Not null.
    std::shared_ptr<const IdentitySource> tftp_identity;
    /// The CAPF certificate, listed in the ITL with role CAPF.
    std::optional<Botan::X509_Certificate> capf_certificate;
    /// The repository's paged device query (hashes-file).
    DeviceFactsPages device_pages;
    /// Every node's TVS certificate, listed by the ITL with role TVS. Not null.
    std::shared_ptr<const TvsCertificates> tvs_certificates;
};

/// One encryptor per entry of config.tftp->encryptors, in order; none when
/// the TFTP side is off. Throws what the constructors throw (EncryptorError).
Encryptors make_encryptors(const Config& config, const TftpDependencies& deps);

}  // namespace capf::tftp
