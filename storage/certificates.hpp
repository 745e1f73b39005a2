// Issued certificates: the standing of one a phone presents, its
// confirmation by possession, an administrator's revocation, and the
// listings. Calls as described in devices.hpp.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "storage/connection_pool_fwd.hpp"
#include "storage/error.hpp"
#include "storage/types.hpp"

namespace capf::storage {

class Certificates {
  public:
    /// Lifetime: the pool must outlive the repository.
    explicit Certificates(ConnectionPool& pool) : pool_(pool) {}

    /// The standing of a certificate a phone presents (serial as the issuer
    /// writes it, lower-case hex): a revoked one's reason first, then current
    /// (the device's LSC), unknown_outcome (issued, never confirmed), or
    /// not_issued (not issued to this device, or no such device).
    CertificateStanding certificate_standing(const std::string& device,
                                             const std::string& serial_hex);
    /// A phone proved possession of an unknown-outcome certificate: it
    /// becomes the device's current LSC (with `public_key_der`), confirmed;
    /// every other unrevoked certificate of the device is superseded. If the
    /// pending install was scheduled before it was issued, the install is
    /// done (completed_install). Any other standing changes nothing
    /// (confirmed false). Audit: certificate/confirmed, peer `actor`; a
    /// confirmation also writes an 'installed' delivery row.
    PresentedConfirmation confirm_presented_certificate(const std::string& device,
                                                        const std::string& serial_hex,
                                                        const Bytes& public_key_der,
                                                        const std::string& actor);
    /// An administrator revokes a certificate; the device's LSC fields stay
    /// (the standing refuses it, and the TFTP side's facts leave it out).
    /// When it is what the TFTP side was given for the device (its current
    /// LSC, or the certificate fetched from it when it has none), a
    /// 'revoked' delivery is queued in the same transaction, which withdraws
    /// what was written for the device. Throws not_found (no such serial),
    /// invalid_value (already revoked; the message says when and why).
    /// Audit: certificate/revoked, detail "serial S".
    void revoke_certificate(const std::string& serial_hex, const std::string& actor);
    /// The certificates issued to a device, newest first. Throws not_found
    /// when there is no such device and none were issued to that name.
    std::vector<IssuedCertificateInfo> list_certificates(const std::string& device);
    /// Issued certificates of a device, newest first: serial and whether confirmed.
    std::vector<std::pair<std::string, bool>> issued_certificates(const std::string& name);

  private:
    ConnectionPool& pool_;
};

}  // namespace capf::storage
