#include "capf/service/own_certificates.hpp"

#include "ca/certificate_facts.hpp"

namespace capf {

bool register_own_certificates(storage::TrustedCertificateRepository& store,
                               const std::string& node, const std::vector<OwnCertificate>& own,
                               std::chrono::seconds ttl) {
    std::vector<storage::TrustedCertificate> entries;
    entries.reserve(own.size());
    for (const auto& [certificate, role] : own) {
        const std::vector<std::uint8_t> der = certificate.BER_encode();
        const ca::CertificateFacts facts = ca::certificate_facts(der);
        storage::TrustedCertificate entry;
        entry.sha256_hex = facts.sha256_hex;
        entry.der = facts.der;
        entry.subject = facts.subject;
        entry.issuer = facts.issuer;
        entry.serial_hex = facts.serial_hex;
        entry.roles = {static_cast<std::uint16_t>(role)};
        entry.ttl = ttl;
        entry.not_after = facts.not_after;
        entry.added_by = node;
        entry.automatic = true;
        entry.node = node;
        entries.push_back(std::move(entry));
    }
    // Entries with one hash are joined by the store (add_all's rule).
    return store.replace_automatic(node, entries);
}

}  // namespace capf
