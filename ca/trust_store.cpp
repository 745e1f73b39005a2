#include "ca/trust_store.hpp"

#include <botan/data_src.h>
#include <botan/pkix_types.h>

#include <optional>

#include "ca/error.hpp"
#include "ca/fingerprint.hpp"
#include "ca/names.hpp"

namespace capf::ca {

namespace {

std::size_t index_of(TrustRole role) noexcept {
    return static_cast<std::size_t>(role);
}

}  // namespace

std::string_view trust_role_name(TrustRole role) noexcept {
    switch (role) {
        case TrustRole::lsc_issuer:
            return "lsc-issuer";
        case TrustRole::mic_root:
            return "mic-root";
        case TrustRole::sudi_root:
            return "sudi-root";
        case TrustRole::intermediate:
            return "intermediate";
    }
    return "?";
}

std::optional<TrustRole> parse_trust_role(std::string_view name) noexcept {
    for (const auto role : all_trust_roles) {
        if (trust_role_name(role) == name)
            return role;
    }
    return std::nullopt;
}

void require_ca_certificate(const Botan::X509_Certificate& cert, const std::string& where) {
    if (!cert.is_CA_cert()) {
        throw CaError(CaErrc::not_a_ca, "certificate " + dn_text(cert.subject_dn()) + where +
                                            " is not a CA (it needs basicConstraints CA:TRUE "
                                            "and keyCertSign to anchor a chain)");
    }
}

bool TrustStore::add(TrustRole role, const Botan::X509_Certificate& cert) {
    require_ca_certificate(cert);
    std::unique_lock lock(mutex_);
    auto& list = by_role_[index_of(role)];
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
    // Every certificate is checked before any is added: a bundle is taken whole or not at all.
    for (const auto& cert : found) {
        require_ca_certificate(cert, " in " + file.string());
    }
    std::size_t added = 0;
    for (const auto& cert : found) {
        added += add(role, cert) ? 1u : 0u;
    }
    return added;
}

bool TrustStore::remove(TrustRole role, const std::string& sha256_hex_value) {
    std::unique_lock lock(mutex_);
    auto& list = by_role_[index_of(role)];
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
    for (const auto& cert : by_role_[index_of(role)]) {
        out.push_back(AnchorInfo{dn_text(cert.subject_dn()), sha256_hex(cert.BER_encode()),
                                 cert.not_after().readable_string()});
    }
    return out;
}

void TrustStore::replace_with(const TrustStore& fresh) {
    if (&fresh == this)
        return;
    std::array<std::vector<Botan::X509_Certificate>, role_count> copy;
    {
        std::shared_lock lock(fresh.mutex_);
        copy = fresh.by_role_;
    }
    std::unique_lock lock(mutex_);
    by_role_ = std::move(copy);
}

Botan::X509_Certificate parse_trust_anchor(std::span<const std::uint8_t> bytes) {
    std::optional<Botan::X509_Certificate> cert;
    try {
        Botan::DataSource_Memory in(bytes.data(), bytes.size());
        cert.emplace(in);
    } catch (const std::exception& e) {
        throw CaError(CaErrc::malformed_certificate,
                      std::string("not a PEM or DER X.509 certificate: ") + e.what());
    }
    require_ca_certificate(*cert);
    if (cert->not_after() < Botan::X509_Time(std::chrono::system_clock::now())) {
        throw CaError(CaErrc::certificate_expired, "certificate " + dn_text(cert->subject_dn()) +
                                                       " expired on " +
                                                       cert->not_after().readable_string());
    }
    return *cert;
}

std::vector<Botan::X509_Certificate> TrustStore::anchors(TrustRole role) const {
    std::shared_lock lock(mutex_);
    return by_role_[index_of(role)];
}

}  // namespace capf::ca
