// Generating, writing and loading CAPF identities.
#include "ca/identity.hpp"

#include <botan/asn1_obj.h>
#include <botan/data_src.h>
#include <botan/pem.h>
#include <sys/stat.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdlib>
#include <fstream>
#include <iterator>

#include "ca/error.hpp"
#include "tests/ca/ca_test_support.hpp"

// The file's own namespace: the suite is compiled in unity batches, and its
// file-local names must not meet another file's.
namespace identity_test_cases {

using namespace capf;
using namespace capf::ca;

namespace {

CaError load_error(const std::function<void()>& f) {
    try {
        f();
    } catch (const CaError& e) {
        return e;
    }
    FAIL("no CaError thrown");
    return CaError(CaErrc::write_failed, "");
}

/// A passphrase file as an operator must write it: the owner's alone.
void write_secret(const std::filesystem::path& p, const std::string& text) {
    test::write_text(p, text);
    REQUIRE(::chmod(p.c_str(), 0600) == 0);
}

}  // namespace

TEST_CASE("a generated CAPF identity is a CA with pathlen 0 and keyCertSign (openssl)") {
    for (const KeySpec key :
         {KeySpec{KeySpec::Algorithm::rsa, 2048}, KeySpec{KeySpec::Algorithm::ec, 256}}) {
        INFO(key.text());
        const Identity id = test::make_ca("CAPF-test", 365, key);
        test::TempDir dir;
        test::write_text(dir / "capf.pem", id.certificate().PEM_encode());
        int status = 0;
        const auto text =
            test::run("openssl x509 -noout -text -in " + (dir / "capf.pem").string(), status);
        REQUIRE(status == 0);
        CHECK_THAT(text,
                   Catch::Contains(
                       "X509v3 Basic Constraints: critical\n                CA:TRUE, pathlen:0"));
        // RSA identities also allow keyEncipherment, for TLS RSA key exchange.
        const std::string usage =
            key.algorithm == KeySpec::Algorithm::rsa
                ? "Digital Signature, Key Encipherment, Certificate Sign, CRL Sign"
                : "Digital Signature, Certificate Sign, CRL Sign";
        CHECK_THAT(text, Catch::Contains("X509v3 Key Usage: critical\n                " + usage));
        CHECK_THAT(
            text,
            Catch::Contains("Subject: CN = CAPF-test, O = Example Hospital, OU = Telecom, C = US"));
        CHECK_THAT(text, Catch::Contains("Issuer: CN = CAPF-test"));
        const auto verify = test::run("openssl verify -CAfile " + (dir / "capf.pem").string() +
                                          " " + (dir / "capf.pem").string(),
                                      status);
        CHECK_THAT(verify, Catch::Contains(": OK"));
    }
}

TEST_CASE("identity keys outside the allowed set are refused") {
    IdentityProfile profile;
    profile.key = {KeySpec::Algorithm::rsa, 1024};
    CHECK(load_error([&] { generate_identity(profile); }).code() == CaErrc::unsupported_key_spec);
    profile.key = {KeySpec::Algorithm::ec, 521};
    CHECK(load_error([&] { generate_identity(profile); }).code() == CaErrc::unsupported_key_spec);
}

TEST_CASE("written keys have mode 0600 and load back") {
    const Identity id = test::make_ca("CAPF-write");
    test::TempDir dir;
    write_identity(id, dir / "capf.crt", dir / "capf.key");
    struct stat st {};
    REQUIRE(::stat((dir / "capf.key").c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0600);
    const Identity loaded = load_identity(dir / "capf.crt", dir / "capf.key");
    CHECK(loaded.certificate() == id.certificate());
    CHECK(loaded.key->subject_public_key() == id.key->subject_public_key());
}

TEST_CASE("a private key that group or others can read is refused, naming the file") {
    const Identity id = test::make_ca("CAPF-perms");
    test::TempDir dir;
    write_identity(id, dir / "capf.crt", dir / "capf.key");
    ::chmod((dir / "capf.key").c_str(), 0640);
    const CaError e = load_error([&] { load_identity(dir / "capf.crt", dir / "capf.key"); });
    CHECK(e.code() == CaErrc::key_file_too_open);
    CHECK_THAT(std::string(e.what()), Catch::Contains((dir / "capf.key").string()) &&
                                          Catch::Contains("0640") && Catch::Contains("chmod 600"));
}

TEST_CASE("an encrypted key loads with its passphrase from a file or the environment") {
    const Identity id = test::make_ca("CAPF-encrypted");
    test::TempDir dir;
    write_identity(id, dir / "capf.crt", dir / "capf.key", std::string("correct horse"));
    write_secret(dir / "pass", "correct horse\n");
    CHECK(load_identity(dir / "capf.crt", dir / "capf.key", Passphrase{dir / "pass", std::nullopt})
              .certificate() == id.certificate());
    ::setenv("CAPF_TEST_PASSPHRASE", "correct horse", 1);
    CHECK(load_identity(dir / "capf.crt", dir / "capf.key",
                        Passphrase{std::nullopt, std::string("CAPF_TEST_PASSPHRASE")})
              .certificate() == id.certificate());
    write_secret(dir / "wrong", "battery staple\n");
    CHECK(load_error([&] {
              load_identity(dir / "capf.crt", dir / "capf.key",
                            Passphrase{dir / "wrong", std::nullopt});
          }).code() == CaErrc::bad_passphrase);
    CHECK(load_error([&] { load_identity(dir / "capf.crt", dir / "capf.key"); }).code() ==
          CaErrc::file_unreadable);
    CHECK(load_error([&] {
              load_identity(dir / "capf.crt", dir / "capf.key",
                            Passphrase{std::nullopt, std::string("CAPF_TEST_UNSET_VARIABLE")});
          }).code() == CaErrc::bad_passphrase);
}

TEST_CASE("a passphrase file that group or others can read is refused, naming file and mode") {
    const Identity id = test::make_ca("CAPF-open-passphrase");
    test::TempDir dir;
    write_identity(id, dir / "capf.crt", dir / "capf.key", std::string("correct horse"));
    write_secret(dir / "pass", "correct horse\n");
    REQUIRE(::chmod((dir / "pass").c_str(), 0644) == 0);
    const Passphrase from_file{dir / "pass", std::nullopt};
    const CaError e =
        load_error([&] { load_identity(dir / "capf.crt", dir / "capf.key", from_file); });
    CHECK(e.code() == CaErrc::key_file_too_open);
    CHECK_THAT(std::string(e.what()), Catch::Contains((dir / "pass").string()) &&
                                          Catch::Contains("0644") && Catch::Contains("chmod 600"));
    CHECK(load_error([&] { (void)read_passphrase(from_file); }).code() ==
          CaErrc::key_file_too_open);
    REQUIRE(::chmod((dir / "pass").c_str(), 0640) == 0);
    CHECK(load_error([&] { (void)read_passphrase(from_file); }).code() ==
          CaErrc::key_file_too_open);
    REQUIRE(::chmod((dir / "pass").c_str(), 0600) == 0);
    CHECK(read_passphrase(from_file) == std::optional<std::string>("correct horse"));
    CHECK_FALSE(read_passphrase(Passphrase{}).has_value());
}

TEST_CASE("a key written with a passphrase is PKCS#8 PBES2 AES-256 and round-trips") {
    const Identity id = test::make_ca("CAPF-round-trip");
    test::TempDir dir;
    write_identity(id, dir / "capf.crt", dir / "capf.key", std::string("correct horse"));
    std::ifstream in(dir / "capf.key");
    const std::string pem((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    CHECK(pem.rfind("-----BEGIN ENCRYPTED PRIVATE KEY-----", 0) == 0);
    CHECK_THAT(pem, !Catch::Contains("BEGIN PRIVATE KEY"));
    // The algorithm identifiers inside the DER: PBES2 and AES-256-CBC.
    Botan::DataSource_Memory source(pem);
    const auto der = Botan::PEM_Code::decode_check_label(source, "ENCRYPTED PRIVATE KEY");
    const auto contains_oid = [&](const std::string& oid) {
        const auto encoded = Botan::OID(oid).BER_encode();
        return std::search(der.begin(), der.end(), encoded.begin(), encoded.end()) != der.end();
    };
    CHECK(contains_oid("1.2.840.113549.1.5.13"));    // PBES2
    CHECK(contains_oid("2.16.840.1.101.3.4.1.42"));  // AES-256-CBC
    write_secret(dir / "pass", "correct horse\n");
    const Identity loaded =
        load_identity(dir / "capf.crt", dir / "capf.key", Passphrase{dir / "pass", std::nullopt});
    CHECK(loaded.certificate() == id.certificate());
    CHECK(loaded.key->private_key_bits() == id.key->private_key_bits());
}

TEST_CASE("a key that does not belong to the certificate is refused") {
    const Identity a = test::make_ca("CAPF-a");
    const Identity b = test::make_ca("CAPF-b");
    test::TempDir dir;
    write_identity(a, dir / "a.crt", dir / "a.key");
    write_identity(b, dir / "b.crt", dir / "b.key");
    CHECK(load_error([&] { load_identity(dir / "a.crt", dir / "b.key"); }).code() ==
          CaErrc::identity_mismatch);
    CHECK(load_error([&] { load_identity(dir / "missing.crt", dir / "a.key"); }).code() ==
          CaErrc::file_unreadable);
}

}  // namespace identity_test_cases
