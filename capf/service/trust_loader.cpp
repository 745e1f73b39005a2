#include "capf/service/trust_loader.hpp"

#include "ca/error.hpp"
#include "ca/fingerprint.hpp"
#include "capf/common/log.hpp"

namespace capf {

std::string_view anchor_source_name(AnchorSource source) noexcept {
    switch (source) {
        case AnchorSource::issuer:
            return "issuer";
        case AnchorSource::config_file:
            return "config";
        case AnchorSource::admin:
            return "admin";
    }
    return "?";
}

void reload_trust(ca::TrustStore& trust, const Config& config, const ca::Identity& issuer,
                  storage::TrustAnchorRepository& anchors) {
    ca::TrustStore fresh;
    fresh.add(ca::TrustRole::lsc_issuer, issuer.certificate());
    for (const auto& f : config.trust.lsc_issuers)
        fresh.add_file(ca::TrustRole::lsc_issuer, f);
    for (const auto& f : config.trust.mic_roots)
        fresh.add_file(ca::TrustRole::mic_root, f);
    for (const auto& f : config.trust.sudi_roots)
        fresh.add_file(ca::TrustRole::sudi_root, f);
    for (const auto& f : config.trust.intermediates)
        fresh.add_file(ca::TrustRole::intermediate, f);
    for (const auto& a : anchors.list()) {
        const auto role = ca::parse_trust_role(a.role);
        if (!role) {
            log::warn("trust_anchor_skipped",
                      {{"role", a.role}, {"sha256", a.sha256_hex}, {"error", "unknown role"}});
            continue;
        }
        try {
            // Parsed again: an anchor that has expired since it was added no
            // longer anchors anything, and says so in the log.
            fresh.add(*role, ca::parse_trust_anchor(a.der));
        } catch (const ca::CaError& e) {
            log::warn("trust_anchor_skipped",
                      {{"role", a.role}, {"sha256", a.sha256_hex}, {"error", e.what()}});
        }
    }
    trust.replace_with(fresh);
}

AnchorSource anchor_source(const std::string& sha256_hex, const ca::Identity& issuer,
                           const std::vector<storage::StoredTrustAnchor>& stored) {
    if (ca::sha256_hex(issuer.certificate().BER_encode()) == sha256_hex)
        return AnchorSource::issuer;
    for (const auto& a : stored) {
        if (a.sha256_hex == sha256_hex)
            return AnchorSource::admin;
    }
    return AnchorSource::config_file;
}

}  // namespace capf
