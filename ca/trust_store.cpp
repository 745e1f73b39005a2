#include "ca/trust_store.hpp"

#include <botan/data_src.h>
#include <botan/pkix_types.h>

#include "ca/error.hpp"
#include "ca/fingerprint.hpp"

namespace capf::ca {

std::string_view trust_role_name(TrustRole role) noexcept {
    return role == TrustRole::lsc_issuer ? "lsc-issuer" : "mic-root";
}

std::vector<Botan::X509_Certificate>& TrustStore::of(TrustRole role) {
    return role == TrustRole::lsc_issuer ? lsc_issuers_ : mic_roots_;
}
const std::vector<Botan::X509_Certificate>& TrustStore::of(TrustRole role) const {
    return role == TrustRole::lsc_issuer ? lsc_issuers_ : mic_roots_;
}

bool TrustStore::add(TrustRole role, const Botan::X509_Certificate& cert) {
    std::unique_lock lock(mutex_);
    auto& list = of(role);
    for (const auto& existing : list) {
        if (existing == cert) {
            return false;
        }
    }
    list.push_back(cert);
    return true;
}

std::size_t TrustStore::add_file(TrustRole role, const std::filesystem::path& file) {
    std::vector<Botan::X509_Certificate> found;
    try {
        // DataSource_Stream + X509_Certificate(DataSource&) read PEM and DER alike.
        Botan::DataSource_Stream in(file.string(), true);
        while (!in.end_of_data()) {
            try {
                found.emplace_back(in);
            } catch (const std::exception&) {
                if (found.empty())
                    throw;
                break;  // trailing text or bytes after the last certificate
            }
        }
    } catch (const std::exception& e) {
        throw CaError(CaErrc::file_unreadable,
                      "cannot read certificates from " + file.string() + ": " + e.what());
    }
    if (found.empty()) {
        throw CaError(CaErrc::file_unreadable, "no certificate in " + file.string());
    }
    std::size_t added = 0;
    for (const auto& cert : found) {
        added += add(role, cert) ? 1u : 0u;
    }
    return added;
}

bool TrustStore::remove(TrustRole role, const std::string& sha256_hex_value) {
    std::unique_lock lock(mutex_);
    auto& list = of(role);
    for (auto it = list.begin(); it != list.end(); ++it) {
        if (sha256_hex(it->BER_encode()) == sha256_hex_value) {
            list.erase(it);
            return true;
        }
    }
    return false;
}

std::vector<AnchorInfo> TrustStore::list(TrustRole role) const {
    std::shared_lock lock(mutex_);
    std::vector<AnchorInfo> out;
    for (const auto& cert : of(role)) {
        out.push_back(AnchorInfo{cert.subject_dn().to_string(), sha256_hex(cert.BER_encode()),
                                 cert.not_after().readable_string()});
    }
    return out;
}

std::vector<Botan::X509_Certificate> TrustStore::anchors(TrustRole role) const {
    std::shared_lock lock(mutex_);
    return of(role);
}

}  // namespace capf::ca
