// CaAuthority: the dialogue's Authority over ca::LscIssuer and ca::TrustStore.
#include <botan/auto_rng.h>
#include <botan/bigint.h>
#include <botan/hex.h>
#include <botan/pkix_types.h>
#include <botan/x509cert.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <string>

#include "ca/fingerprint.hpp"
#include "ca/issuer.hpp"
#include "ca/proof.hpp"
#include "ca/trust_store.hpp"
#include "ca/verify.hpp"
#include "capf/service/ca_authority.hpp"
#include "tests/ca/ca_test_support.hpp"

// The file's own namespace: the suite is compiled in unity batches, and its
// file-local names must not meet another file's.
namespace service_authority_test_cases {

using namespace capf;
using capf::test::phone_key;

namespace {

const std::string device = "SEP001122334455";
const std::string mic_cn = "CP-7962G-SEP001122334455";
constexpr std::uint32_t session_id = 0x01020304;
const ca::KeySpec rsa1024{ca::KeySpec::Algorithm::rsa, 1024};
const ca::KeySpec rsa2048{ca::KeySpec::Algorithm::rsa, 2048};
const ca::KeySpec p256{ca::KeySpec::Algorithm::ec, 256};

constexpr ca::KeySpec ec_ca{ca::KeySpec::Algorithm::ec, 256};  // quick to make

struct World {
    ca::LscIssuer issuer{test::make_ca("CAPF-service", 3650, ec_ca)};
    ca::Identity manufacturing = test::make_ca("Test Manufacturing CA", 3650, ec_ca);
    ca::Identity stranger = test::make_ca("Some Other CA", 3650, ec_ca);
    ca::Identity sudi_root = test::make_ca("Test SUDI Root", 3650, ec_ca);
    ca::TrustStore trust;
    World() {
        trust.add(ca::TrustRole::lsc_issuer, issuer.issuer().certificate());
        trust.add(ca::TrustRole::mic_root, manufacturing.certificate());
        trust.add(ca::TrustRole::sudi_root, sudi_root.certificate());
    }
};

World& world() {
    static auto* w = new World();  // never destroyed: see phone_key()
    return *w;
}

/// A certificate for `cn` from `issuer`, presented as a phone would for
/// `device` in the given role.
PresentedCertificate present(const ca::Identity& issuer, const std::string& cn,
                             CertificateRole role) {
    const ca::LscIssuer signer(issuer);
    const auto& key = phone_key(p256);
    const auto cert = signer.issue_lsc(cn, key.subject_public_key(), p256, 365);
    Botan::AutoSeeded_RNG rng;
    const auto data = ca::certificate_auth_data(device, cert.der);
    PresentedCertificate p;
    p.role = role;
    p.der = cert.der;
    p.signed_data = ca::sign_proof(key, data, ca::ProofHash::sha1, rng);
    p.sha2_hash_id = 3;
    p.sha2_signed_data = ca::sign_proof(key, data, ca::ProofHash::sha512, rng);
    return p;
}

/// SUDI data proving itself for `proved_session`.
protocol::SudiData sudi(std::uint32_t proved_session) {
    const ca::LscIssuer mfg(world().sudi_root);
    const auto cert =
        mfg.issue_lsc("SUDI-001122334455", phone_key(rsa1024).subject_public_key(), rsa1024, 365);
    Botan::AutoSeeded_RNG rng;
    const auto data = ca::sudi_auth_data(proved_session, cert.der);
    protocol::SudiData s;
    s.certificate_der = cert.der;
    s.sha1_signature = ca::sign_proof(phone_key(rsa1024), data, ca::ProofHash::sha1, rng);
    s.sha2_hash = protocol::HashId::sha512;
    s.sha2_signature = ca::sign_proof(phone_key(rsa1024), data, ca::ProofHash::sha512, rng);
    return s;
}

CaAuthority authority(unsigned validity_days = 30, ca::VerifyPolicy policy = {}) {
    return CaAuthority(world().issuer, world().trust, validity_days, policy);
}

}  // namespace

TEST_CASE("service: issue_lsc returns the record of the certificate it issued") {
    auto auth = authority(30);
    for (const auto& spec : {p256, rsa2048}) {
        INFO(spec.text());
        const auto spki = phone_key(spec).subject_public_key();
        const auto record = auth.issue_lsc(device, spki, spec);

        const Botan::X509_Certificate cert(record.der);
        CHECK(cert.subject_dn().get_first_attribute("CN") == device);
        CHECK(record.md5_hex == ca::md5_hex(record.der));
        CHECK(record.md5_hex.size() == 32);
        CHECK(Botan::BigInt::decode(Botan::hex_decode(record.serial_hex)) ==
              Botan::BigInt::decode(cert.serial_number()));
        CHECK(record.public_key_der == cert.subject_public_key_info());
        CHECK(record.public_key_der == spki);
        // The validity given to the authority, and the certificate's own.
        CHECK(record.not_after - record.not_before == std::chrono::hours(24 * 30));
        CHECK(std::chrono::time_point_cast<std::chrono::seconds>(record.not_after) ==
              std::chrono::time_point_cast<std::chrono::seconds>(
                  cert.not_after().to_std_timepoint()));
        // Issued by this CAPF: it verifies against the trust store.
        CHECK(
            cert.check_signature(*world().issuer.issuer().certificate().load_subject_public_key()));
    }
}

TEST_CASE(
    "service: issue_lsc refuses a key of the wrong spec or a malformed key with KeyRejected") {
    auto auth = authority();
    const auto ec_key = phone_key(p256).subject_public_key();
    CHECK_THROWS_AS(auth.issue_lsc(device, ec_key, rsa2048), KeyRejected);
    CHECK_THROWS_AS(auth.issue_lsc(device, ec_key, ca::KeySpec{ca::KeySpec::Algorithm::ec, 384}),
                    KeyRejected);
    const auto rsa_key = phone_key(rsa2048).subject_public_key();
    CHECK_THROWS_AS(auth.issue_lsc(device, rsa_key, rsa1024), KeyRejected);
    CHECK_THROWS_AS(auth.issue_lsc(device, {0x30, 0x03, 0x02, 0x01, 0x01}, rsa2048), KeyRejected);
    CHECK_THROWS_AS(auth.issue_lsc(device, {}, rsa2048), KeyRejected);
}

TEST_CASE("service: verify_presented accepts trusted certificates and names the cause otherwise") {
    auto auth = authority();
    const auto untrusted = std::string(ca::auth_failure_name(ca::AuthFailure::untrusted_chain));
    REQUIRE(untrusted == "untrusted_chain");

    // An LSC of this CAPF.
    const auto lsc = present(world().issuer.issuer(), device, CertificateRole::lsc);
    CHECK(auth.verify_presented(device, lsc, session_id).failure == std::nullopt);

    // Untrusted: another CA's certificate.
    const auto stranger = present(world().stranger, device, CertificateRole::lsc);
    CHECK(auth.verify_presented(device, stranger, session_id).failure == untrusted);

    // The role picks the anchors: a MIC is checked against the MIC roots...
    const auto mic = present(world().manufacturing, mic_cn, CertificateRole::mic);
    CHECK(auth.verify_presented(device, mic, session_id).failure == std::nullopt);
    // ...and the same certificate presented as an LSC is not trusted.
    auto mic_as_lsc = mic;
    mic_as_lsc.role = CertificateRole::lsc;
    CHECK(auth.verify_presented(device, mic_as_lsc, session_id).failure == untrusted);
    // Nor is this CAPF's LSC presented as a MIC.
    auto lsc_as_mic = lsc;
    lsc_as_mic.role = CertificateRole::mic;
    CHECK(auth.verify_presented(device, lsc_as_mic, session_id).failure == untrusted);

    // Other causes reach the dialogue under their own names.
    auto bad_proof = lsc;
    bad_proof.signed_data[bad_proof.signed_data.size() / 2] ^= 0x01;
    CHECK(auth.verify_presented(device, bad_proof, session_id).failure ==
          std::string(ca::auth_failure_name(ca::AuthFailure::bad_sha1_proof)));
    auto wrong_hash = lsc;
    wrong_hash.sha2_hash_id = 2;
    CHECK(auth.verify_presented(device, wrong_hash, session_id).failure ==
          std::string(ca::auth_failure_name(ca::AuthFailure::wrong_hash_id)));
    CHECK(auth.verify_presented("SEP00AABBCCDDEE", lsc, session_id).failure ==
          std::string(ca::auth_failure_name(ca::AuthFailure::not_bound_to_device)));
    auto garbage = lsc;
    garbage.der = {0x01, 0x02, 0x03};
    CHECK(auth.verify_presented(device, garbage, session_id).failure ==
          std::string(ca::auth_failure_name(ca::AuthFailure::malformed_certificate)));
}

TEST_CASE("service: verify_presented checks SUDI data for the session it is given") {
    auto auth = authority();
    auto mic = present(world().manufacturing, mic_cn, CertificateRole::mic);
    mic.sudi = sudi(session_id);
    CHECK(auth.verify_presented(device, mic, session_id).failure == std::nullopt);
    // The same proof in another session: a replay.
    CHECK(auth.verify_presented(device, mic, session_id + 1).failure ==
          std::string(ca::auth_failure_name(ca::AuthFailure::bad_sudi_proof)));
    mic.sudi = sudi(session_id + 1);
    CHECK(auth.verify_presented(device, mic, session_id).failure ==
          std::string(ca::auth_failure_name(ca::AuthFailure::bad_sudi_proof)));
}

TEST_CASE(
    "service: describe_certificate gives the MD5 and key of a certificate, nothing for junk") {
    auto auth = authority();
    CHECK_FALSE(auth.describe_certificate({}).has_value());
    CHECK_FALSE(auth.describe_certificate({0x30, 0x03, 0x02, 0x01, 0x01}).has_value());
    CHECK_FALSE(
        auth.describe_certificate({'n', 'o', 't', ' ', 'a', ' ', 'c', 'e', 'r', 't'}).has_value());

    const auto spki = phone_key(p256).subject_public_key();
    const auto record = auth.issue_lsc(device, spki, p256);
    const auto described = auth.describe_certificate(record.der);
    REQUIRE(described.has_value());
    CHECK(described->first == ca::md5_hex(record.der));
    CHECK(described->first == record.md5_hex);
    CHECK(described->second == spki);

    auto truncated = record.der;
    truncated.resize(truncated.size() / 2);
    CHECK_FALSE(auth.describe_certificate(truncated).has_value());
}

TEST_CASE("service: a SUDI is required by the global policy or by the device") {
    auto mic = present(world().manufacturing, mic_cn, CertificateRole::mic);
    const auto missing = std::string(ca::auth_failure_name(ca::AuthFailure::sudi_missing));
    CHECK(authority().verify_presented(device, mic, session_id).failure == std::nullopt);
    ca::VerifyPolicy required;
    required.require_sudi = true;
    CHECK(authority(30, required).verify_presented(device, mic, session_id).failure == missing);
    mic.require_sudi = true;  // the device's own setting
    CHECK(authority().verify_presented(device, mic, session_id).failure == missing);
    mic.sudi = sudi(session_id);
    CHECK(authority().verify_presented(device, mic, session_id).failure == std::nullopt);
}

TEST_CASE("service: a verified LSC comes back with its serial and key, for its standing") {
    auto auth = authority();
    const auto lsc = present(world().issuer.issuer(), device, CertificateRole::lsc);
    const auto verdict = auth.verify_presented(device, lsc, session_id);
    REQUIRE_FALSE(verdict.failure.has_value());
    const Botan::X509_Certificate cert(lsc.der);
    CHECK(verdict.serial_hex == Botan::hex_encode(cert.serial_number(), false));
    CHECK(verdict.public_key_der == cert.subject_public_key_info());
}

TEST_CASE(
    "service: check_fetched accepts the device's own certificate and names the cause otherwise") {
    auto auth = authority();
    const auto own = present(world().issuer.issuer(), device, CertificateRole::lsc);
    CHECK(auth.check_fetched(device, own.der) == std::nullopt);
    const auto other = present(world().issuer.issuer(), "SEP00AABBCCDDEE", CertificateRole::lsc);
    CHECK(auth.check_fetched(device, other.der) ==
          std::string(ca::auth_failure_name(ca::AuthFailure::not_bound_to_device)));
    const auto stranger = present(world().stranger, device, CertificateRole::lsc);
    CHECK(auth.check_fetched(device, stranger.der) ==
          std::string(ca::auth_failure_name(ca::AuthFailure::untrusted_chain)));
}

TEST_CASE("service: the verdict says what the SUDI amounted to, for the audit") {
    auto mic = present(world().manufacturing, mic_cn, CertificateRole::mic);
    CHECK(authority().verify_presented(device, mic, session_id).sudi_evidence.empty());
    mic.sudi = sudi(session_id);
    const auto verified = authority().verify_presented(device, mic, session_id);
    REQUIRE_FALSE(verified.failure.has_value());
    CHECK(verified.sudi_evidence == "sudi_verified");

    // A default installation: no sudi-root anchor.
    ca::TrustStore no_sudi_roots;
    no_sudi_roots.add(ca::TrustRole::lsc_issuer, world().issuer.issuer().certificate());
    no_sudi_roots.add(ca::TrustRole::mic_root, world().manufacturing.certificate());
    CaAuthority defaults(world().issuer, no_sudi_roots, 30);
    const auto unverified = defaults.verify_presented(device, mic, session_id);
    REQUIRE_FALSE(unverified.failure.has_value());
    CHECK(unverified.sudi_evidence == "sudi_unverified: no sudi-root anchor configured");
    // ... but a proof made for another session is still refused there.
    CHECK(defaults.verify_presented(device, mic, session_id + 1).failure ==
          std::string(ca::auth_failure_name(ca::AuthFailure::bad_sudi_proof)));
}

}  // namespace service_authority_test_cases
