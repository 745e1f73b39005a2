// capfd's own certificates in the trusted-certificate store (issue 34): each
// node keeps its CAPF, TFTP, TVS and SAST certificates there with their
// roles, so every node's TVS vouches for them and `capfctl tvs
// export-bundle` carries them to another cluster.
#pragma once

#include <botan/x509cert.h>

#include <chrono>
#include <string>
#include <vector>

#include "protocol/signed_file.hpp"
#include "storage/trusted_certificates.hpp"

namespace capf {

struct OwnCertificate {
    Botan::X509_Certificate certificate;
    protocol::ItlRole role;
};

/// Makes `node`'s automatic entries exactly `own` (one certificate with two
/// roles is one entry with both), each with `ttl`. Blocking. Throws
/// StorageError. Returns whether anything changed.
bool register_own_certificates(storage::TrustedCertificateRepository& store,
                               const std::string& node, const std::vector<OwnCertificate>& own,
                               std::chrono::seconds ttl);

}  // namespace capf
