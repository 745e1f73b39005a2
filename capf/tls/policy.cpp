#include "capf/tls/policy.hpp"

namespace capf {

std::vector<std::string> LegacyTlsPolicy::allowed_ciphers() const {
    return {"AES-256/GCM", "AES-128/GCM", "ChaCha20Poly1305", "AES-256", "AES-128"};
}
std::vector<std::string> LegacyTlsPolicy::allowed_macs() const {
    return {"AEAD", "SHA-256", "SHA-384", "SHA-1"};
}
std::vector<std::string> LegacyTlsPolicy::allowed_key_exchange_methods() const {
    return {"ECDH", "RSA"};
}
std::vector<std::string> LegacyTlsPolicy::allowed_signature_hashes() const {
    return {"SHA-512", "SHA-384", "SHA-256", "SHA-1"};
}

std::vector<std::string> LegacyTlsPolicy::allowed_signature_methods() const {
    // "IMPLICIT" is Botan's name for suites whose key exchange authenticates
    // the server (plain RSA key exchange): without it they are never offered.
    return {"ECDSA", "RSA", "IMPLICIT"};
}

std::vector<std::string> StrictTlsPolicy::allowed_ciphers() const {
    return {"AES-256/GCM", "AES-128/GCM", "ChaCha20Poly1305"};
}
std::vector<std::string> StrictTlsPolicy::allowed_macs() const {
    return {"AEAD"};
}
std::vector<std::string> StrictTlsPolicy::allowed_key_exchange_methods() const {
    return {"ECDH"};
}

std::unique_ptr<Botan::TLS::Policy> make_tls_policy(TlsPolicy which) {
    if (which == TlsPolicy::strict) {
        return std::make_unique<PreparedTlsPolicy<StrictTlsPolicy>>();
    }
    return std::make_unique<PreparedTlsPolicy<LegacyTlsPolicy>>();
}

namespace {

std::string comma_list(const std::vector<std::string>& items) {
    std::string out;
    for (const auto& item : items) {
        out += (out.empty() ? "" : ",") + item;
    }
    return out;
}

}  // namespace

TlsPolicySummary describe_tls_policy(const Botan::TLS::Policy& policy, std::string name) {
    std::vector<std::string> versions;
    if (policy.allow_tls10())
        versions.emplace_back("TLS1.0");
    if (policy.allow_tls11())
        versions.emplace_back("TLS1.1");
    if (policy.allow_tls12())
        versions.emplace_back("TLS1.2");
    return TlsPolicySummary{std::move(name),
                            comma_list(versions),
                            comma_list(policy.allowed_key_exchange_methods()),
                            comma_list(policy.allowed_ciphers()),
                            comma_list(policy.allowed_macs()),
                            policy.minimum_rsa_bits()};
}

TlsPolicySummary describe_tls_policy(TlsPolicy which) {
    return describe_tls_policy(*make_tls_policy(which),
                               which == TlsPolicy::strict ? "strict" : "legacy");
}

}  // namespace capf
