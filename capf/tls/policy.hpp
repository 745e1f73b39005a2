// The two TLS policies phones meet (protocol/README.md, section 1).
#pragma once

#include <botan/tls_policy.h>

#include <array>
#include <memory>
#include <optional>
#include <string>

#include "capf/common/config.hpp"

namespace capf {

/// TLS 1.0-1.2 including RSA key exchange and AES-128-CBC-SHA: the only
/// thing 7940/7960/7962-class phones speak. Newer phones still get ECDHE
/// with AEAD, because the server prefers its own order.
class LegacyTlsPolicy : public Botan::TLS::Policy {
  public:
    std::vector<std::string> allowed_ciphers() const override;
    std::vector<std::string> allowed_macs() const override;
    std::vector<std::string> allowed_key_exchange_methods() const override;
    std::vector<std::string> allowed_signature_hashes() const override;
    std::vector<std::string> allowed_signature_methods() const override;
    bool allow_tls10() const override { return true; }
    bool allow_tls11() const override { return true; }
    bool allow_tls12() const override { return true; }
    bool allow_dtls10() const override { return false; }
    bool allow_dtls12() const override { return false; }
    bool server_uses_own_ciphersuite_preferences() const override { return true; }
    size_t minimum_rsa_bits() const override { return 1024; }
};

/// TLS 1.2 only, ECDHE key exchange, AEAD ciphers.
class StrictTlsPolicy : public Botan::TLS::Policy {
  public:
    std::vector<std::string> allowed_ciphers() const override;
    std::vector<std::string> allowed_macs() const override;
    std::vector<std::string> allowed_key_exchange_methods() const override;
    bool allow_tls10() const override { return false; }
    bool allow_tls11() const override { return false; }
    bool allow_tls12() const override { return true; }
    bool allow_dtls10() const override { return false; }
    bool allow_dtls12() const override { return false; }
    bool server_uses_own_ciphersuite_preferences() const override { return true; }
};

/// `Rules` (one of the policies above) with what Botan would work out again
/// for every handshake worked out once: the cipher suite list of each
/// version (Botan filters every suite it knows through the policy's string
/// lists, a tenth of a handshake's own CPU in a profile of installs). And no
/// session tickets: capfd keeps no sessions, and Botan looked up a ticket
/// key for every handshake by catching an exception.
template <typename Rules>
class PreparedTlsPolicy final : public Rules {
  public:
    PreparedTlsPolicy() {
        for (std::size_t i = 0; i < versions.size(); ++i) {
            try {
                suites_[i] = Rules::ciphersuite_list(versions[i], false);
            } catch (const std::exception&) {
                // A version the policy refuses: asked for, Botan refuses again.
            }
        }
    }
    std::vector<uint16_t> ciphersuite_list(Botan::TLS::Protocol_Version version,
                                           bool have_srp) const override {
        for (std::size_t i = 0; i < versions.size(); ++i) {
            if (!have_srp && version == versions[i] && suites_[i])
                return *suites_[i];
        }
        return Rules::ciphersuite_list(version, have_srp);
    }
    uint32_t session_ticket_lifetime() const override { return 0; }

  private:
    static inline const std::array<Botan::TLS::Protocol_Version, 3> versions{
        Botan::TLS::Protocol_Version::TLS_V10, Botan::TLS::Protocol_Version::TLS_V11,
        Botan::TLS::Protocol_Version::TLS_V12};
    std::array<std::optional<std::vector<uint16_t>>, 3> suites_;
};

std::unique_ptr<Botan::TLS::Policy> make_tls_policy(TlsPolicy which);

/// What a TLS policy allows, each list comma-separated in the policy's order
/// of preference, for the "tls_policy" line capfd logs at start.
struct TlsPolicySummary {
    std::string name;           ///< "legacy" or "strict"
    std::string versions;       ///< e.g. "TLS1.0,TLS1.1,TLS1.2"
    std::string key_exchanges;  ///< Botan's names: "ECDH,RSA"
    std::string ciphers;        ///< "AES-256/GCM,...,AES-128" (no "/" = CBC)
    std::string macs;           ///< "AEAD" or HMAC hashes
    std::size_t minimum_rsa_bits = 0;
};

/// Read from the Botan policy object make_tls_policy(which) returns, so the
/// log cannot drift from what is enforced.
TlsPolicySummary describe_tls_policy(TlsPolicy which);
TlsPolicySummary describe_tls_policy(const Botan::TLS::Policy& policy, std::string name);

}  // namespace capf
