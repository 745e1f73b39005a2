// The dialogue's Authority over the certificate authority (ca/).
#pragma once

#include "ca/issuer.hpp"
#include "ca/trust_store.hpp"
#include "ca/verify.hpp"
#include "capf/dialogue/ports.hpp"

namespace capf {

/// Lifetime: issuer and trust store outlive it. Thread-safe.
class CaAuthority : public Authority {
  public:
    /// `policy`: the chain rules per role and the global require_sudi (a
    /// device's own require_sudi is added per session).
    CaAuthority(const ca::LscIssuer& issuer, const ca::TrustStore& trust, unsigned validity_days,
                ca::VerifyPolicy policy = {})
        : issuer_(issuer), trust_(trust), validity_days_(validity_days), policy_(policy) {}

    CertificateVerdict verify_presented(const std::string& device,
                                        const PresentedCertificate& presented,
                                        std::uint32_t session_id) override;
    VerificationFailure check_fetched(const std::string& device,
                                      const std::vector<std::uint8_t>& der) override;
    IssuedCertificateRecord issue_lsc(const std::string& device,
                                      const std::vector<std::uint8_t>& public_key_der,
                                      const ca::KeySpec& requested) override;
    std::optional<std::pair<std::string, std::vector<std::uint8_t>>> describe_certificate(
        const std::vector<std::uint8_t>& der) override;

  private:
    const ca::LscIssuer& issuer_;
    const ca::TrustStore& trust_;
    unsigned validity_days_;
    ca::VerifyPolicy policy_;
};

}  // namespace capf
