// LSC issuance, checked by an independent tool: openssl.
#include "ca/issuer.hpp"

#include <botan/der_enc.h>
#include <botan/hex.h>
#include <botan/pkcs10.h>
#include <botan/pkcs8.h>
#include <botan/pubkey.h>
#include <botan/rsa.h>
#include <botan/x509_ca.h>
#include <botan/x509cert.h>
#include <botan/x509self.h>

#include <catch2/catch.hpp>

#include "ca/error.hpp"
#include "ca/fingerprint.hpp"
#include "ca/public_key.hpp"
#include "tests/ca/ca_test_support.hpp"

// The file's own namespace: the suite is compiled in unity batches, and its
// file-local names must not meet another file's.
namespace issuer_test_cases {

using namespace capf;
using namespace capf::ca;
using capf::test::phone_key;

namespace {

const std::string device = "SEP001122334455";

const Identity& hospital_ca() {
    static const auto* id = new Identity(test::make_ca("CAPF-hospital"));  // see phone_key()
    return *id;
}

CaErrc error_of(const std::function<void()>& f) {
    try {
        f();
    } catch (const CaError& e) {
        return e.code();
    }
    FAIL("no CaError thrown");
    return CaErrc::write_failed;
}

}  // namespace

// Section 7 of protocol/README.md: the LSC profile phones accept.
TEST_CASE("issued LSCs verify with openssl and carry the section 7 profile") {
    const LscIssuer issuer(hospital_ca());
    test::TempDir dir;
    test::write_text(dir / "issuer.pem", hospital_ca().certificate().PEM_encode());
    for (const KeySpec spec :
         {KeySpec{KeySpec::Algorithm::rsa, 1024}, KeySpec{KeySpec::Algorithm::rsa, 2048},
          KeySpec{KeySpec::Algorithm::rsa, 4096}, KeySpec{KeySpec::Algorithm::ec, 256},
          KeySpec{KeySpec::Algorithm::ec, 384}, KeySpec{KeySpec::Algorithm::ec, 521}}) {
        INFO("key " << spec.text());
        const auto spki = phone_key(spec).subject_public_key();
        const IssuedLsc lsc = issuer.issue_lsc(device, spki, spec, 365);
        test::write_bytes(dir / "lsc.der", lsc.der);
        int status = 0;
        test::run("openssl x509 -inform DER -in " + (dir / "lsc.der").string() + " -out " +
                      (dir / "lsc.pem").string(),
                  status);
        REQUIRE(status == 0);
        const std::string verify =
            test::run("openssl verify -CAfile " + (dir / "issuer.pem").string() + " " +
                          (dir / "lsc.pem").string(),
                      status);
        CHECK(status == 0);
        CHECK_THAT(verify, Catch::Contains(": OK"));
        const std::string text =
            test::run("openssl x509 -noout -text -in " + (dir / "lsc.pem").string(), status);
        CHECK_THAT(
            text, Catch::Contains(
                      "Subject: CN = SEP001122334455, O = Example Hospital, OU = Telecom, C = US"));
        CHECK_THAT(text, Catch::Contains("Issuer: CN = CAPF-hospital, O = Example Hospital"));
        CHECK_THAT(text,
                   Catch::Contains("X509v3 Basic Constraints: critical\n                CA:FALSE"));
        CHECK_THAT(
            text,
            Catch::Contains(
                "X509v3 Key Usage: critical\n                Digital Signature, Key Encipherment"));
        CHECK_THAT(
            text,
            Catch::Contains(
                "TLS Web Server Authentication, TLS Web Client Authentication, IPSec End System"));
        CHECK_THAT(text, Catch::Contains("URI:SEP001122334455"));
        CHECK_THAT(text, Catch::Contains("Signature Algorithm: sha256WithRSAEncryption"));
        CHECK(lsc.md5_hex == md5_hex(lsc.der));
        CHECK(lsc.md5_hex.size() == 32);
        CHECK(lsc.public_key_der == spki);
        // 128-bit positive serial: at most 16 bytes, top bit clear.
        CHECK(lsc.serial_hex.size() <= 32);
        CHECK(lsc.serial_hex.size() >= 16);
        // What the issuer reports is what the certificate says.
        const Botan::X509_Certificate parsed(lsc.der);
        CHECK(lsc.serial_hex == Botan::hex_encode(parsed.serial_number(), false));
        CHECK(lsc.not_before == parsed.not_before().to_std_timepoint());
        CHECK(lsc.not_after == parsed.not_after().to_std_timepoint());
        CHECK(parsed.subject_public_key_info() == spki);
    }
}

TEST_CASE("an ECDSA issuer signs LSCs with ecdsa-with-SHA256") {
    const LscIssuer issuer(test::make_ca("CAPF-ec", 3650, {KeySpec::Algorithm::ec, 256}));
    const KeySpec spec{KeySpec::Algorithm::rsa, 2048};
    const auto lsc = issuer.issue_lsc(device, phone_key(spec).subject_public_key(), spec, 30);
    test::TempDir dir;
    test::write_bytes(dir / "lsc.der", lsc.der);
    int status = 0;
    const auto text = test::run(
        "openssl x509 -inform DER -noout -text -in " + (dir / "lsc.der").string(), status);
    CHECK_THAT(text, Catch::Contains("Signature Algorithm: ecdsa-with-SHA256"));
}

TEST_CASE("serials are random and distinct") {
    const LscIssuer issuer(hospital_ca());
    const KeySpec spec{KeySpec::Algorithm::ec, 256};
    const auto spki = phone_key(spec).subject_public_key();
    std::set<std::string> serials;
    for (int i = 0; i < 50; ++i) {
        serials.insert(issuer.issue_lsc(device, spki, spec, 30).serial_hex);
    }
    CHECK(serials.size() == 50);
}

TEST_CASE("validity is now to now + days, clipped at the issuer's expiry") {
    const KeySpec spec{KeySpec::Algorithm::ec, 256};
    const auto spki = phone_key(spec).subject_public_key();
    const auto now = std::chrono::system_clock::now();
    const LscIssuer long_lived(hospital_ca());
    const auto lsc = long_lived.issue_lsc(device, spki, spec, 365, now);
    const auto days =
        std::chrono::duration_cast<std::chrono::hours>(lsc.not_after - lsc.not_before).count() / 24;
    CHECK(days == 365);

    const Identity short_ca = test::make_ca("CAPF-short", 10);
    const LscIssuer short_lived(short_ca);
    const auto clipped = short_lived.issue_lsc(device, spki, spec, 365, now);
    CHECK(clipped.not_after == short_ca.certificate().not_after().to_std_timepoint());
}

TEST_CASE("a key that is not the one requested is rejected, saying what was expected") {
    const LscIssuer issuer(hospital_ca());
    const auto rsa2048 = phone_key({KeySpec::Algorithm::rsa, 2048}).subject_public_key();
    const auto p384 = phone_key({KeySpec::Algorithm::ec, 384}).subject_public_key();
    try {
        issuer.issue_lsc(device, rsa2048, {KeySpec::Algorithm::rsa, 1024}, 365);
        FAIL("size mismatch accepted");
    } catch (const CaError& e) {
        CHECK(e.code() == CaErrc::key_mismatch);
        CHECK(std::string(e.what()) == "expected a rsa-1024 key, the phone sent rsa-2048");
    }
    CHECK(error_of([&] {
              issuer.issue_lsc(device, p384, {KeySpec::Algorithm::ec, 256}, 365);
          }) == CaErrc::key_mismatch);
    CHECK(error_of([&] {
              issuer.issue_lsc(device, p384, {KeySpec::Algorithm::rsa, 2048}, 365);
          }) == CaErrc::key_mismatch);
    CHECK(error_of([&] {
              issuer.issue_lsc(device, rsa2048, {KeySpec::Algorithm::ec, 256}, 365);
          }) == CaErrc::key_mismatch);
}

TEST_CASE("malformed public keys are rejected: truncated, garbage, empty") {
    const LscIssuer issuer(hospital_ca());
    const KeySpec spec{KeySpec::Algorithm::rsa, 2048};
    const auto good = phone_key(spec).subject_public_key();
    for (std::size_t cut :
         {std::size_t{0}, std::size_t{1}, std::size_t{10}, good.size() / 2, good.size() - 1}) {
        INFO("truncated to " << cut);
        const std::vector<std::uint8_t> truncated(good.begin(),
                                                  good.begin() + static_cast<std::ptrdiff_t>(cut));
        CHECK(error_of([&] { issuer.issue_lsc(device, truncated, spec, 365); }) ==
              CaErrc::malformed_public_key);
    }
    const std::vector<std::uint8_t> garbage(300, 0xA5);
    CHECK(error_of([&] { issuer.issue_lsc(device, garbage, spec, 365); }) ==
          CaErrc::malformed_public_key);
    std::vector<std::uint8_t> flipped = good;
    flipped[0] = 0x31;  // SET instead of SEQUENCE
    CHECK(error_of([&] { issuer.issue_lsc(device, flipped, spec, 365); }) ==
          CaErrc::malformed_public_key);
}

namespace {

/// An RSA SubjectPublicKeyInfo with the given modulus and exponent, made
/// with Botan's encoder (not checked for sanity: that is the point).
std::vector<std::uint8_t> rsa_spki(const Botan::BigInt& n, const Botan::BigInt& e,
                                   bool trailing = false) {
    std::vector<std::uint8_t> key;
    Botan::DER_Encoder(key).start_cons(Botan::SEQUENCE).encode(n).encode(e).end_cons();
    if (trailing)
        key.push_back(0);
    std::vector<std::uint8_t> spki;
    Botan::DER_Encoder(spki)
        .start_cons(Botan::SEQUENCE)
        .encode(Botan::AlgorithmIdentifier(Botan::OID::from_string("RSA"),
                                           Botan::AlgorithmIdentifier::USE_NULL_PARAM))
        .encode(key, Botan::BIT_STRING)
        .end_cons();
    return spki;
}

}  // namespace

// Issue 13: RSA keys are read from their DER, without Botan's key loader
// (which sets up Montgomery parameters nothing here uses): the same answers.
TEST_CASE("an RSA phone key read from its DER gives its size and a bad one is refused") {
    for (unsigned bits : {1024u, 2048u, 4096u}) {
        const auto spki = phone_key({KeySpec::Algorithm::rsa, bits}).subject_public_key();
        CHECK(describe_public_key(spki) == KeySpec{KeySpec::Algorithm::rsa, bits});
    }
    const auto& good =
        dynamic_cast<const Botan::RSA_PublicKey&>(phone_key({KeySpec::Algorithm::rsa, 2048}));
    CHECK(describe_public_key(rsa_spki(good.get_n(), good.get_e())) ==
          KeySpec{KeySpec::Algorithm::rsa, 2048});
    const auto refused = [](const std::vector<std::uint8_t>& spki) {
        try {
            describe_public_key(spki);
        } catch (const CaError& e) {
            return e.code();
        }
        return CaErrc::not_a_ca;  // stands for "accepted": not an answer this can give
    };
    CHECK(refused(rsa_spki(good.get_n() + 1, good.get_e())) == CaErrc::malformed_public_key);
    CHECK(refused(rsa_spki(good.get_n(), 1)) == CaErrc::malformed_public_key);
    CHECK(refused(rsa_spki(3, good.get_e())) == CaErrc::malformed_public_key);
    CHECK(refused(rsa_spki(good.get_n(), good.get_e(), /*trailing=*/true)) ==
          CaErrc::malformed_public_key);
    // A modulus of a size phones are never asked for.
    Botan::BigInt odd_size = Botan::BigInt::power_of_2(1999) + 1;
    CHECK(refused(rsa_spki(odd_size, good.get_e())) == CaErrc::key_mismatch);
    // EC keys still go through Botan's loader, which checks the point.
    CHECK(describe_public_key(phone_key({KeySpec::Algorithm::ec, 256}).subject_public_key()) ==
          KeySpec{KeySpec::Algorithm::ec, 256});
}

TEST_CASE("a separate issuer under an enterprise root issues LSCs that chain to the root") {
    Botan::AutoSeeded_RNG rng;
    // An enterprise root allows one level of intermediates (ours say pathlen:0).
    Identity root;
    root.key = std::make_shared<Botan::RSA_PrivateKey>(rng, 2048);
    Botan::X509_Cert_Options root_opts("Enterprise Root/US/Example Hospital/PKI");
    root_opts.CA_key(1);
    root.chain.push_back(
        Botan::X509::create_self_signed_cert(root_opts, *root.key, "SHA-256", rng));
    // The intermediate: its own key, signed by the root, CA:TRUE.
    Identity intermediate;
    intermediate.key = std::make_shared<Botan::RSA_PrivateKey>(rng, 2048);
    Botan::X509_Cert_Options opts("CAPF-issuer/US/Example Hospital/Telecom");
    opts.CA_key(0);
    const auto request = Botan::X509::create_cert_req(opts, *intermediate.key, "SHA-256", rng);
    Botan::X509_CA root_ca(root.certificate(), *root.key, "SHA-256", rng);
    const auto now = std::chrono::system_clock::now();
    intermediate.chain.push_back(root_ca.sign_request(
        request, rng, Botan::X509_Time(now), Botan::X509_Time(now + std::chrono::hours(24 * 365))));
    intermediate.chain.push_back(root.certificate());

    const LscIssuer issuer(intermediate);
    const KeySpec spec{KeySpec::Algorithm::rsa, 2048};
    const auto lsc = issuer.issue_lsc(device, phone_key(spec).subject_public_key(), spec, 365);
    test::TempDir dir;
    test::write_text(dir / "root.pem", root.certificate().PEM_encode());
    test::write_text(dir / "intermediate.pem", intermediate.certificate().PEM_encode());
    test::write_bytes(dir / "lsc.der", lsc.der);
    int status = 0;
    test::run("openssl x509 -inform DER -in " + (dir / "lsc.der").string() + " -out " +
                  (dir / "lsc.pem").string(),
              status);
    const auto out =
        test::run("openssl verify -CAfile " + (dir / "root.pem").string() + " -untrusted " +
                      (dir / "intermediate.pem").string() + " " + (dir / "lsc.pem").string(),
                  status);
    CHECK(status == 0);
    CHECK_THAT(out, Catch::Contains(": OK"));
}

TEST_CASE("an issuer that is not a CA is refused") {
    Botan::AutoSeeded_RNG rng;
    Identity leaf;
    leaf.key = std::make_shared<Botan::RSA_PrivateKey>(rng, 2048);
    Botan::X509_Cert_Options opts("not-a-ca/US");
    leaf.chain.push_back(Botan::X509::create_self_signed_cert(opts, *leaf.key, "SHA-256", rng));
    CHECK(error_of([&] { LscIssuer issuer(leaf); }) == CaErrc::not_a_ca);
}

}  // namespace issuer_test_cases
