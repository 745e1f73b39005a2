// Certificates of any shape for the chain tests: roots, intermediates and
// leaves with chosen keys, hashes, validity and names, made with Botan.
#pragma once

#include <botan/auto_rng.h>
#include <botan/pkix_types.h>
#include <botan/pubkey.h>
#include <botan/rsa.h>
#include <botan/x509_ca.h>
#include <botan/x509_ext.h>

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "ca/proof.hpp"
#include "ca/verify.hpp"
#include "tests/ca/ca_test_support.hpp"

namespace capf::test {

/// An RSA key per name, generated once per test run: every CA of a test has
/// its own key, so that a forged certificate cannot verify by accident.
inline const Botan::Private_Key& named_key(const std::string& name, std::size_t rsa_bits = 2048) {
    static auto* cache = new std::map<std::string, std::unique_ptr<Botan::Private_Key>>();
    auto& slot = (*cache)[name + "/" + std::to_string(rsa_bits)];
    if (!slot) {
        Botan::AutoSeeded_RNG rng;
        slot = std::make_unique<Botan::RSA_PrivateKey>(rng, rsa_bits);
    }
    return *slot;
}

/// What make_cert makes: CertSpec("CN").ca().hashed_with("SHA-160")...
struct CertSpec {
    explicit CertSpec(std::string common_name) : cn(std::move(common_name)) {}
    CertSpec& ca() {
        is_ca = true;
        return *this;
    }
    CertSpec& hashed_with(std::string h) {
        hash = std::move(h);
        return *this;
    }
    CertSpec& valid(std::chrono::system_clock::time_point from,
                    std::chrono::system_clock::time_point to) {
        not_before = from;
        not_after = to;
        return *this;
    }
    CertSpec& serial_number(std::string s) {
        serial_number_attribute = std::move(s);
        return *this;
    }
    CertSpec& dns(std::string d) {
        san_dns = std::move(d);
        return *this;
    }
    CertSpec& uri(std::string u) {
        san_uri = std::move(u);
        return *this;
    }

    std::string cn;
    bool is_ca = false;
    std::string hash = "SHA-256";  ///< of the issuer's signature; "SHA-160" gives EMSA3(SHA-160)
    std::chrono::system_clock::time_point not_before =
        std::chrono::system_clock::now() - std::chrono::hours(24);
    std::chrono::system_clock::time_point not_after =
        std::chrono::system_clock::now() + std::chrono::hours(24 * 365);
    std::string serial_number_attribute;  ///< X520.SerialNumber when not empty
    std::string san_dns;
    std::string san_uri;
};

struct TestCert {
    Botan::X509_Certificate cert;
    const Botan::Private_Key* key = nullptr;

    std::vector<std::uint8_t> der() const { return cert.BER_encode(); }
};

/// A certificate for `subject_key` as `spec` says, signed by `issuer`, or
/// self-signed when `issuer` is null. CAs get pathlen 4 and keyCertSign.
inline TestCert make_cert(const CertSpec& spec, const Botan::Private_Key& subject_key,
                          const TestCert* issuer = nullptr) {
    Botan::X509_DN subject;
    subject.add_attribute("X520.CommonName", spec.cn);
    subject.add_attribute("X520.Organization", "Test Manufacturer");
    if (!spec.serial_number_attribute.empty())
        subject.add_attribute("X520.SerialNumber", spec.serial_number_attribute);
    const auto spki = subject_key.subject_public_key();

    Botan::Extensions ext;
    ext.add(new Botan::Cert_Extension::Basic_Constraints(spec.is_ca, spec.is_ca ? 4 : 0), true);
    ext.add(
        new Botan::Cert_Extension::Key_Usage(
            spec.is_ca ? static_cast<Botan::Key_Constraints>(Botan::KEY_CERT_SIGN | Botan::CRL_SIGN)
                       : static_cast<Botan::Key_Constraints>(Botan::DIGITAL_SIGNATURE |
                                                             Botan::KEY_ENCIPHERMENT)),
        true);
    ext.add(new Botan::Cert_Extension::Subject_Key_ID(spki, "SHA-160"));
    if (issuer != nullptr)
        ext.add(new Botan::Cert_Extension::Authority_Key_ID(issuer->cert.subject_key_id()));
    if (!spec.san_dns.empty() || !spec.san_uri.empty()) {
        ext.add(new Botan::Cert_Extension::Subject_Alternative_Name(
            Botan::AlternativeName("", spec.san_uri, spec.san_dns, "")));
    }

    const Botan::Private_Key& signing_key = issuer != nullptr ? *issuer->key : subject_key;
    const Botan::X509_DN issuer_dn = issuer != nullptr ? issuer->cert.subject_dn() : subject;
    Botan::AutoSeeded_RNG rng;
    Botan::AlgorithmIdentifier sig_algo;
    std::unique_ptr<Botan::PK_Signer> signer(
        Botan::choose_sig_format(signing_key, rng, spec.hash, sig_algo));
    auto cert =
        Botan::X509_CA::make_cert(signer.get(), rng, Botan::BigInt(rng, 64), sig_algo, spki,
                                  Botan::X509_Time(spec.not_before),
                                  Botan::X509_Time(spec.not_after), issuer_dn, subject, ext);
    return TestCert{cert, &subject_key};
}

inline TestCert make_root(const std::string& cn, const Botan::Private_Key& key) {
    return make_cert(CertSpec(cn).ca(), key);
}

inline TestCert make_intermediate(const std::string& cn, const Botan::Private_Key& key,
                                  const TestCert& issuer, const std::string& hash = "SHA-256") {
    return make_cert(CertSpec(cn).ca().hashed_with(hash), key, &issuer);
}

/// `leaf` presented for `device` in `role` with good proofs made by its key.
inline ca::PresentedCertificate present_cert(const TestCert& leaf, ca::CertificateRole role,
                                             const std::string& device,
                                             std::vector<std::vector<std::uint8_t>> sent = {}) {
    Botan::AutoSeeded_RNG rng;
    ca::PresentedCertificate p;
    p.role = role;
    p.der = leaf.der();
    const auto data = ca::certificate_auth_data(device, p.der);
    p.signed_data = ca::sign_proof(*leaf.key, data, ca::ProofHash::sha1, rng);
    p.sha2_hash_id = 3;
    p.sha2_signed_data = ca::sign_proof(*leaf.key, data, ca::ProofHash::sha512, rng);
    p.intermediates = std::move(sent);
    return p;
}

/// SUDI data for `sudi` proving itself for `session_id`.
inline ca::SudiProof sudi_proof(const TestCert& sudi, std::uint32_t session_id) {
    Botan::AutoSeeded_RNG rng;
    const auto der = sudi.der();
    const auto data = ca::sudi_auth_data(session_id, der);
    return ca::SudiProof{der, ca::sign_proof(*sudi.key, data, ca::ProofHash::sha1, rng), 3,
                         ca::sign_proof(*sudi.key, data, ca::ProofHash::sha512, rng)};
}

}  // namespace capf::test
