#include "ca/chain.hpp"

#include <botan/certstor.h>
#include <botan/pk_keys.h>
#include <botan/workfactor.h>
#include <botan/x509path.h>

#include <memory>
#include <set>

#include "ca/names.hpp"

namespace capf::ca {
namespace {

using Code = Botan::Certificate_Status_Code;

bool is_time_code(Code code) noexcept {
    return code == Code::CERT_NOT_YET_VALID || code == Code::CERT_HAS_EXPIRED;
}

bool is_weak_code(Code code) noexcept {
    return code == Code::SIGNATURE_METHOD_TOO_WEAK || code == Code::UNTRUSTED_HASH;
}

/// The signature hashes a policy trusts, named as Botan names them. Given
/// explicitly: Botan 2.19 would add SHA-160 by itself for strengths <= 80.
std::set<std::string> trusted_hashes(const ChainPolicy& policy) {
    std::set<std::string> hashes = {"SHA-224", "SHA-256", "SHA-384", "SHA-512"};
    if (policy.accept_sha1)
        hashes.insert("SHA-160");
    return hashes;
}

/// The security strength Botan gives an RSA key of `bits`: the unit of
/// Path_Validation_Restrictions' minimum_key_strength.
std::size_t strength_of_rsa_bits(std::size_t bits) {
    return Botan::if_work_factor(bits);
}

/// A reason when the key of `cert` is below the policy, or nullopt. RSA keys
/// are compared in bits (exact); other keys by estimated strength.
std::optional<std::string> weak_key(const Botan::X509_Certificate& cert,
                                    const ChainPolicy& policy) {
    std::unique_ptr<Botan::Public_Key> key;
    try {
        key = cert.load_subject_public_key();
    } catch (const std::exception& e) {
        return "certificate " + dn_text(cert.subject_dn()) + ": key does not load: " + e.what();
    }
    if (key->algo_name() == "RSA") {
        if (key->key_length() < policy.min_rsa_bits) {
            return "certificate " + dn_text(cert.subject_dn()) + ": RSA key of " +
                   std::to_string(key->key_length()) + " bits, below the " +
                   std::to_string(policy.min_rsa_bits) + " bits required";
        }
    } else if (key->estimated_strength() < strength_of_rsa_bits(policy.min_rsa_bits)) {
        return "certificate " + dn_text(cert.subject_dn()) + ": " + key->algo_name() +
               " key weaker than RSA-" + std::to_string(policy.min_rsa_bits);
    }
    return std::nullopt;
}

/// The failure class of one status code; nullopt for codes that are not
/// failures here (informational, warnings, or time when it is ignored).
std::optional<ChainFailure> classify(Code code, ValidityCheck validity) {
    if (code < Code::FIRST_ERROR_STATUS)
        return std::nullopt;
    if (is_time_code(code))
        return validity == ValidityCheck::enforce ? std::optional(ChainFailure::outside_validity)
                                                  : std::nullopt;
    return is_weak_code(code) ? ChainFailure::weak : ChainFailure::untrusted;
}

/// Lower ranks are reported first: a chain that does not reach an anchor is
/// untrusted whatever else is wrong with it.
int rank(ChainFailure f) {
    switch (f) {
        case ChainFailure::untrusted:
            return 0;
        case ChainFailure::weak:
            return 1;
        case ChainFailure::outside_validity:
            return 2;
    }
    return 3;
}

/// The worst failure among the statuses of a built path, naming the
/// certificate it concerns.
ChainResult judge_path(const Botan::Path_Validation_Result& result, ValidityCheck validity) {
    ChainResult worst;
    const auto& statuses = result.all_statuses();
    const auto& path = result.cert_path();
    for (std::size_t i = 0; i < statuses.size(); ++i) {
        for (const auto code : statuses[i]) {
            const auto failure = classify(code, validity);
            if (!failure || (worst.failure && rank(*worst.failure) <= rank(*failure)))
                continue;
            worst.failure = failure;
            const std::string subject =
                i < path.size() ? dn_text(path[i]->subject_dn()) : "#" + std::to_string(i);
            worst.detail = "certificate " + subject + ": " +
                           Botan::Path_Validation_Result::status_string(code);
        }
    }
    return worst;
}

ChainResult run_validation(const Botan::X509_Certificate& leaf,
                           const std::vector<Botan::X509_Certificate>& untrusted_links,
                           const std::vector<Botan::X509_Certificate>& anchors,
                           const ChainPolicy& policy, std::chrono::system_clock::time_point now,
                           ValidityCheck validity) {
    Botan::Certificate_Store_In_Memory anchor_store;
    for (const auto& anchor : anchors)
        anchor_store.add_certificate(anchor);
    std::vector<Botan::X509_Certificate> end_certs{leaf};
    end_certs.insert(end_certs.end(), untrusted_links.begin(), untrusted_links.end());

    const Botan::Path_Validation_Restrictions restrictions(
        /*require_rev=*/false, strength_of_rsa_bits(policy.min_rsa_bits),
        /*ocsp_all_intermediates=*/false, trusted_hashes(policy));
    const auto result = Botan::x509_path_validate(end_certs, restrictions, anchor_store, "",
                                                  Botan::Usage_Type::UNSPECIFIED, now);
    if (result.cert_path().empty()) {
        // Path building failed: no certificate statuses, only the overall code.
        if (result.successful_validation())
            return {ChainFailure::untrusted, "no certificate path"};
        return {ChainFailure::untrusted,
                "certificate " + dn_text(leaf.subject_dn()) + ": " + result.result_string()};
    }
    auto judged = judge_path(result, validity);
    if (judged.failure && *judged.failure == ChainFailure::untrusted)
        return judged;
    // Botan checks the keys that sign; the leaf's key (and exact RSA sizes) we check here.
    for (const auto& cert : result.cert_path()) {
        if (auto reason = weak_key(*cert, policy))
            return {ChainFailure::weak, *reason};
    }
    return judged;
}

}  // namespace

ChainPolicy legacy_chain_policy() noexcept {
    return ChainPolicy{1024, true};
}

ChainPolicy strict_chain_policy() noexcept {
    return ChainPolicy{2048, false};
}

ChainResult validate_chain(const Botan::X509_Certificate& leaf,
                           const std::vector<Botan::X509_Certificate>& untrusted_links,
                           const std::vector<Botan::X509_Certificate>& anchors,
                           const ChainPolicy& policy, std::chrono::system_clock::time_point now,
                           ValidityCheck validity) {
    if (anchors.empty())
        return {ChainFailure::untrusted, "no anchor is configured for this role"};
    try {
        return run_validation(leaf, untrusted_links, anchors, policy, now, validity);
    } catch (const std::exception& e) {
        return {ChainFailure::untrusted, std::string("path validation failed: ") + e.what()};
    }
}

}  // namespace capf::ca
