// Authenticating phones by LSC and MIC: the good cases, and each failure
// kind produced by a test built to trigger exactly it.
#include "ca/verify.hpp"

#include <botan/auto_rng.h>
#include <botan/hash.h>
#include <botan/pkcs8.h>
#include <botan/x509_key.h>

#include <catch2/catch.hpp>

#include "ca/fingerprint.hpp"
#include "ca/issuer.hpp"
#include "ca/proof.hpp"
#include "tests/ca/ca_test_support.hpp"

// The file's own namespace: the suite is compiled in unity batches, and its
// file-local names must not meet another file's.
namespace verify_test_cases {

using namespace capf;
using namespace capf::ca;
using capf::test::phone_key;

namespace {

const std::string device = "SEP001122334455";
constexpr std::uint32_t session_id = 0x0A0B0C0D;

struct World {
    Identity capf = test::make_ca("CAPF-verify");
    Identity manufacturing = test::make_ca("Test Manufacturing CA");
    Identity stranger = test::make_ca("Some Other CA");
    Identity sudi_root = test::make_ca("Test SUDI Root");
    TrustStore trust;
    World() {
        trust.add(TrustRole::lsc_issuer, capf.certificate());
        trust.add(TrustRole::mic_root, manufacturing.certificate());
        trust.add(TrustRole::sudi_root, sudi_root.certificate());
    }
};

World& world() {
    static auto* w = new World();  // never destroyed: see phone_key()
    return *w;
}

/// A certificate for `cn` issued by `issuer` over `key`, and a presentation
/// of it signed as a phone would.
PresentedCertificate present(
    const Identity& issuer, const std::string& cn, const Botan::Private_Key& key,
    const KeySpec& spec, CertificateRole role, const std::string& name = device,
    std::chrono::system_clock::time_point issued_at = std::chrono::system_clock::now()) {
    const LscIssuer ca(issuer);
    const auto cert = ca.issue_lsc(cn, key.subject_public_key(), spec, 365, issued_at);
    Botan::AutoSeeded_RNG rng;
    PresentedCertificate p;
    p.role = role;
    p.der = cert.der;
    const auto data = certificate_auth_data(name, cert.der);
    p.signed_data = sign_proof(key, data, ProofHash::sha1, rng);
    p.sha2_hash_id = 3;
    p.sha2_signed_data = sign_proof(key, data, ProofHash::sha512, rng);
    return p;
}

const KeySpec rsa2048{KeySpec::Algorithm::rsa, 2048};
const KeySpec p256{KeySpec::Algorithm::ec, 256};

std::optional<AuthFailure> failure_of(
    const PresentedCertificate& p, const std::string& name = device,
    std::chrono::system_clock::time_point now = std::chrono::system_clock::now()) {
    const auto v =
        verify_presented_certificate(world().trust, name, p, session_id, VerifyPolicy{}, now);
    INFO(v.detail);
    return v.failure;
}

}  // namespace

TEST_CASE("an RSA LSC with good proofs authenticates") {
    const auto p = present(world().capf, device, phone_key(rsa2048), rsa2048, CertificateRole::lsc);
    const auto v =
        verify_presented_certificate(world().trust, device, p, session_id, VerifyPolicy{});
    REQUIRE(v.ok());
    CHECK(v.verified->role == CertificateRole::lsc);
    CHECK(v.verified->subject_cn == device);
    CHECK(v.verified->md5_hex == md5_hex(p.der));
    CHECK(v.verified->public_key_der == phone_key(rsa2048).subject_public_key());
}

TEST_CASE("an EC LSC with good proofs authenticates") {
    const auto p = present(world().capf, device, phone_key(p256), p256, CertificateRole::lsc);
    CHECK_FALSE(failure_of(p).has_value());
}

TEST_CASE("a MIC under a test manufacturing root authenticates, with and without SUDI") {
    auto p = present(world().manufacturing, "CP-7962G-SEP001122334455", phone_key(rsa2048), rsa2048,
                     CertificateRole::mic);
    CHECK_FALSE(failure_of(p).has_value());

    // SUDI: a second RSA key and certificate, under a SUDI root, proving itself for this session.
    const KeySpec rsa1024{KeySpec::Algorithm::rsa, 1024};
    const LscIssuer mfg(world().sudi_root);
    const auto sudi_cert =
        mfg.issue_lsc("SUDI-001122334455", phone_key(rsa1024).subject_public_key(), rsa1024, 365);
    Botan::AutoSeeded_RNG rng;
    const auto data = sudi_auth_data(session_id, sudi_cert.der);
    p.sudi = SudiProof{sudi_cert.der, sign_proof(phone_key(rsa1024), data, ProofHash::sha1, rng), 3,
                       sign_proof(phone_key(rsa1024), data, ProofHash::sha512, rng)};
    CHECK_FALSE(failure_of(p).has_value());
}

TEST_CASE("the SUDI auth data is the session id little-endian then the certificate") {
    const std::vector<std::uint8_t> der = {0x30, 0x00};
    CHECK(sudi_auth_data(0x0A0B0C0D, der) ==
          std::vector<std::uint8_t>{0x0D, 0x0C, 0x0B, 0x0A, 0x30, 0x00});
    CHECK(certificate_auth_data("SEP1", der) ==
          std::vector<std::uint8_t>{'S', 'E', 'P', '1', 0x00, 0x30, 0x00});
}

TEST_CASE("the RSA proof is PKCS#1 v1.5 type 1 over the bare digest, without DigestInfo") {
    Botan::AutoSeeded_RNG rng;
    const auto& key = phone_key(rsa2048);
    const std::vector<std::uint8_t> data = {'a', 'b', 'c'};
    const auto sig = sign_proof(key, data, ProofHash::sha1, rng);
    test::TempDir dir;
    test::write_bytes(dir / "sig", sig);
    test::write_text(dir / "pub.pem", Botan::X509::PEM_encode(key));
    int status = 0;
    // Recover the padded block's payload with openssl: it must be exactly the digest.
    const auto out = test::run("openssl pkeyutl -verifyrecover -pubin -inkey " +
                                   (dir / "pub.pem").string() + " -in " + (dir / "sig").string() +
                                   " -pkeyopt rsa_padding_mode:pkcs1 | xxd -p -c 256",
                               status);
    CHECK_THAT(out, Catch::StartsWith("a9993e364706816aba3e25717850c26c9cd0d89d"));  // SHA-1("abc")
}

TEST_CASE("failure: malformed certificate") {
    auto p = present(world().capf, device, phone_key(rsa2048), rsa2048, CertificateRole::lsc);
    p.der.resize(p.der.size() / 2);
    CHECK(failure_of(p) == AuthFailure::malformed_certificate);
}

TEST_CASE("failure: unknown issuer") {
    const auto p =
        present(world().stranger, device, phone_key(rsa2048), rsa2048, CertificateRole::lsc);
    CHECK(failure_of(p) == AuthFailure::untrusted_chain);
}

TEST_CASE("failure: an LSC presented as a MIC does not chain to a manufacturing root") {
    const auto p = present(world().capf, "CP-7962G-SEP001122334455", phone_key(rsa2048), rsa2048,
                           CertificateRole::mic);
    CHECK(failure_of(p) == AuthFailure::untrusted_chain);
}

TEST_CASE("failure: expired certificate") {
    const auto p = present(world().capf, device, phone_key(p256), p256, CertificateRole::lsc);
    const auto later = std::chrono::system_clock::now() + std::chrono::hours(24 * 400);
    CHECK(failure_of(p, device, later) == AuthFailure::outside_validity);
    const auto earlier = std::chrono::system_clock::now() - std::chrono::hours(24);
    CHECK(failure_of(p, device, earlier) == AuthFailure::outside_validity);
}

TEST_CASE("failure: another device's LSC") {
    // Signed correctly, by its holder, but for SEP00AABBCCDDEE.
    const auto p =
        present(world().capf, "SEP00AABBCCDDEE", phone_key(rsa2048), rsa2048, CertificateRole::lsc);
    CHECK(failure_of(p) == AuthFailure::not_bound_to_device);
}

TEST_CASE("failure: a MIC whose CN lacks the device's MAC") {
    const auto p = present(world().manufacturing, "CP-7962G-SEP00AABBCCDDEE", phone_key(rsa2048),
                           rsa2048, CertificateRole::mic);
    CHECK(failure_of(p) == AuthFailure::not_bound_to_device);
}

TEST_CASE("failure: flipped signature byte in the SHA-1 proof") {
    for (const KeySpec* spec : {&rsa2048, &p256}) {
        INFO(spec->text());
        auto p = present(world().capf, device, phone_key(*spec), *spec, CertificateRole::lsc);
        p.signed_data[p.signed_data.size() / 2] ^= 0x01;
        CHECK(failure_of(p) == AuthFailure::bad_sha1_proof);
    }
}

TEST_CASE("failure: SHA-256 hash id where SHA-512 is required") {
    auto p = present(world().capf, device, phone_key(rsa2048), rsa2048, CertificateRole::lsc);
    p.sha2_hash_id = 2;
    CHECK(failure_of(p) == AuthFailure::wrong_hash_id);
}

TEST_CASE("failure: flipped signature byte in the SHA-512 proof") {
    auto p = present(world().capf, device, phone_key(p256), p256, CertificateRole::lsc);
    p.sha2_signed_data.back() ^= 0x80;
    CHECK(failure_of(p) == AuthFailure::bad_sha512_proof);
}

TEST_CASE("failure: proofs made for another device name") {
    // The certificate is this device's, but the proof covered another name.
    auto p = present(world().capf, device, phone_key(rsa2048), rsa2048, CertificateRole::lsc,
                     "SEP00AABBCCDDEE");
    CHECK(failure_of(p) == AuthFailure::bad_sha1_proof);
}

TEST_CASE("failure: bad SUDI proof (made for another session)") {
    auto p = present(world().manufacturing, "CP-7962G-SEP001122334455", phone_key(rsa2048), rsa2048,
                     CertificateRole::mic);
    const KeySpec rsa1024{KeySpec::Algorithm::rsa, 1024};
    const LscIssuer mfg(world().manufacturing);
    const auto sudi_cert =
        mfg.issue_lsc("SUDI-001122334455", phone_key(rsa1024).subject_public_key(), rsa1024, 365);
    Botan::AutoSeeded_RNG rng;
    const auto other_session = sudi_auth_data(session_id + 1, sudi_cert.der);
    p.sudi = SudiProof{sudi_cert.der,
                       sign_proof(phone_key(rsa1024), other_session, ProofHash::sha1, rng), 3,
                       sign_proof(phone_key(rsa1024), other_session, ProofHash::sha512, rng)};
    CHECK(failure_of(p) == AuthFailure::bad_sudi_proof);
}

TEST_CASE("a SUDI with a non-RSA key is ignored") {
    auto p = present(world().manufacturing, "CP-7962G-SEP001122334455", phone_key(rsa2048), rsa2048,
                     CertificateRole::mic);
    const LscIssuer mfg(world().manufacturing);
    const auto sudi_cert =
        mfg.issue_lsc("SUDI-EC", phone_key(p256).subject_public_key(), p256, 365);
    p.sudi = SudiProof{sudi_cert.der, {1, 2, 3}, 3, {4, 5, 6}};
    CHECK_FALSE(failure_of(p).has_value());
}

TEST_CASE("every failure kind has a distinct name") {
    std::set<std::string_view> names;
    for (auto f :
         {AuthFailure::malformed_certificate, AuthFailure::untrusted_chain,
          AuthFailure::outside_validity, AuthFailure::not_bound_to_device,
          AuthFailure::bad_sha1_proof, AuthFailure::wrong_hash_id, AuthFailure::bad_sha512_proof,
          AuthFailure::bad_sudi_proof, AuthFailure::weak_chain, AuthFailure::sudi_missing,
          AuthFailure::sudi_untrusted, AuthFailure::sudi_not_bound_to_device}) {
        names.insert(auth_failure_name(f));
    }
    CHECK(names.size() == 12);
    CHECK_FALSE(names.contains("unknown"));
}

}  // namespace verify_test_cases
