// The TFTP files capfd builds (protocol/README.md, sections 8-9): the
// encrypted configuration read back by an independent reader with the
// phone's private key, signed files and the ITL checked against the TFTP
// certificate, and the keys that are refused.
#include "ca/tftp_files.hpp"

#include <botan/auto_rng.h>
#include <botan/ber_dec.h>
#include <botan/bigint.h>
#include <botan/der_enc.h>
#include <botan/ecc_key.h>
#include <botan/rsa.h>
#include <botan/x509_key.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <string>

#include "ca/error.hpp"
#include "protocol/signed_file.hpp"
#include "tests/ca/ca_test_support.hpp"
#include "tests/ca/tftp_reader.hpp"

// The file's own namespace: the suite is compiled in unity batches, and its
// file-local names must not meet another file's.
namespace tftp_files_test_cases {

using namespace capf;
using namespace capf::ca;
using protocol::FileHash;
using protocol::ItlRole;

namespace {

const Identity& tftp_identity(unsigned bits = 2048) {
    static auto* cache = new std::map<unsigned, Identity>();
    auto it = cache->find(bits);
    if (it == cache->end()) {
        IdentityProfile profile;
        profile.common_name = "TFTP-" + std::to_string(bits);
        profile.organization = "Example Hospital";
        profile.country = "US";
        profile.key = {KeySpec::Algorithm::rsa, bits};
        profile.role = IdentityRole::tftp;
        it = cache->emplace(bits, generate_identity(profile)).first;
    }
    return it->second;
}

const Identity& capf_identity_ec() {
    static const Identity* id =
        new Identity(test::make_ca("CAPF-ec", 3650, {KeySpec::Algorithm::ec, 256}));
    return *id;
}

std::vector<std::uint8_t> spki_of(const Botan::Private_Key& key) {
    return Botan::X509::BER_encode(key);
}

CaError ca_error(const std::function<void()>& f) {
    try {
        f();
    } catch (const CaError& e) {
        return e;
    }
    FAIL("no CaError thrown");
    return CaError(CaErrc::write_failed, "");
}

bool contains(const std::string& text, const std::string& part) {
    return text.find(part) != std::string::npos;
}

/// A document of exactly `size` bytes (a bare run of 'x' when too short
/// for the tags).
std::string sample_xml(std::size_t size) {
    const std::string open = "<device>", close = "</device>";
    if (size < open.size() + close.size())
        return std::string(size, 'x');
    return open + std::string(size - open.size() - close.size(), 'x') + close;
}

Identity tftp_identity_with(KeySpec key) {
    // A TFTP-role identity with a key the profile would refuse: built as a
    // CAPF identity (which allows it) and used as a signer.
    return test::make_ca("odd-signer", 3650, key);
}

}  // namespace

TEST_CASE(
    "tftp files: an .enc.sgn decrypts with the phone's private key (independent reader), "
    "RSA 1024/2048/4096, sizes around 16, SHA-1 and SHA-512") {
    Botan::AutoSeeded_RNG rng;
    for (unsigned bits : {1024u, 2048u, 4096u}) {
        const auto& phone = test::phone_key({KeySpec::Algorithm::rsa, bits});
        for (std::size_t size : {1u, 15u, 16u, 17u, 1000u, 1024u}) {
            for (FileHash hash : {FileHash::sha1, FileHash::sha512}) {
                CAPTURE(bits, size, static_cast<int>(hash));
                const std::string xml = sample_xml(size);
                REQUIRE(xml.size() == size);
                const auto file =
                    build_encrypted_config(xml, spki_of(phone), "SEP001122334455.cnf.xml.enc.sgn",
                                           tftp_identity(), {hash, 1700000000}, rng);
                const auto read = test::read_encrypted_config(file, phone, rng);
                REQUIRE(read.xml == xml);
                REQUIRE(read.header_length % 4 == 0);
                // Whole blocks: one extra block when the XML is aligned.
                REQUIRE(file.size() - read.header_length == (size / 16 + 1) * 16);
                REQUIRE(verify_signed_file(file, tftp_identity().certificate()));
            }
        }
    }
}

TEST_CASE("tftp files: a fresh AES key and IV for every file") {
    Botan::AutoSeeded_RNG rng;
    const auto& phone = test::phone_key({KeySpec::Algorithm::rsa, 1024});
    const auto a = protocol::parse_signed_file(build_encrypted_config(
        "<device/>", spki_of(phone), "x.enc.sgn", tftp_identity(), {FileHash::sha512, 1}, rng));
    const auto b = protocol::parse_signed_file(build_encrypted_config(
        "<device/>", spki_of(phone), "x.enc.sgn", tftp_identity(), {FileHash::sha512, 1}, rng));
    REQUIRE(a.header.encryption->iv != b.header.encryption->iv);
    REQUIRE(a.payload != b.payload);
    Botan::PK_Decryptor_EME unwrap(phone, rng, "EME-PKCS1-v1_5");
    REQUIRE(unwrap.decrypt(a.header.encryption->wrapped_key) !=
            unwrap.decrypt(b.header.encryption->wrapped_key));
}

TEST_CASE("tftp files: an EC device key is refused, saying the format wraps with RSA only") {
    Botan::AutoSeeded_RNG rng;
    const auto& phone = test::phone_key({KeySpec::Algorithm::ec, 256});
    const CaError e = ca_error([&] {
        build_encrypted_config("<device/>", spki_of(phone), "SEP001122334455.cnf.xml.enc.sgn",
                               tftp_identity(), {}, rng);
    });
    REQUIRE(e.code() == CaErrc::key_mismatch);
    REQUIRE(contains(e.what(), "ECDSA"));
    REQUIRE(contains(e.what(), "RSA only"));
}

TEST_CASE("tftp files: the TFTP signer must be RSA 1024, 2048 or 4096, EC is refused and why") {
    REQUIRE(tftp_key_specs() == std::vector<KeySpec>{{KeySpec::Algorithm::rsa, 1024},
                                                     {KeySpec::Algorithm::rsa, 2048},
                                                     {KeySpec::Algorithm::rsa, 4096}});
    REQUIRE_NOTHROW(require_tftp_signing_key(tftp_identity()));

    const CaError ec = ca_error([&] { require_tftp_signing_key(capf_identity_ec()); });
    REQUIRE(ec.code() == CaErrc::unsupported_key_spec);
    REQUIRE(contains(ec.what(), "EC is refused"));
    REQUIRE(contains(ec.what(), "phones verify .sgn and ITL signatures with RSA only"));

    Botan::AutoSeeded_RNG rng;
    const std::vector<std::uint8_t> payload = {'x'};
    const CaError signing =
        ca_error([&] { build_signed_file(payload, "x.sgn", capf_identity_ec(), {}, rng); });
    REQUIRE(signing.code() == CaErrc::unsupported_key_spec);

    const Identity rsa3072 = tftp_identity_with({KeySpec::Algorithm::rsa, 3072});
    const CaError odd = ca_error([&] { require_tftp_signing_key(rsa3072); });
    REQUIRE(odd.code() == CaErrc::unsupported_key_spec);
    REQUIRE(contains(odd.what(), "rsa-3072"));
}

TEST_CASE(
    "tftp files: a TFTP identity signs files only (CA:FALSE, digitalSignature) and "
    "refuses EC and RSA 3072") {
    const auto& cert = tftp_identity().certificate();
    REQUIRE_FALSE(cert.is_CA_cert());
    REQUIRE(cert.constraints() == Botan::DIGITAL_SIGNATURE);
    REQUIRE(cert.subject_dn() == cert.issuer_dn());
    REQUIRE_THROWS_AS(check_issuer(tftp_identity(), std::chrono::system_clock::now()), CaError);

    IdentityProfile profile;
    profile.role = IdentityRole::tftp;
    profile.key = {KeySpec::Algorithm::ec, 256};
    const CaError ec = ca_error([&] { generate_identity(profile); });
    REQUIRE(ec.code() == CaErrc::unsupported_key_spec);
    REQUIRE(contains(ec.what(), "RSA only"));
    profile.key = {KeySpec::Algorithm::rsa, 3072};
    REQUIRE(ca_error([&] { generate_identity(profile); }).code() == CaErrc::unsupported_key_spec);
    // RSA 1024, which a CAPF identity may not have, is a TFTP key.
    REQUIRE(tftp_identity(1024).key->key_length() == 1024);
}

TEST_CASE("tftp files: names in RFC 4514 order, comma-joined, escaped, multi-valued RDNs") {
    // make_dn writes CN first, so RFC 4514 (last RDN first) starts with C.
    REQUIRE(rfc4514_name(tftp_identity().certificate().subject_dn()) ==
            "C=US,O=Example Hospital,CN=TFTP-2048");

    std::vector<std::uint8_t> encoded;
    Botan::DER_Encoder der(encoded);
    der.start_cons(Botan::SEQUENCE)
        .start_cons(Botan::SET)
        .start_cons(Botan::SEQUENCE)
        .encode(Botan::OID("2.5.4.6"))
        .encode(Botan::ASN1_String("US", Botan::PRINTABLE_STRING))
        .end_cons()
        .end_cons()
        .start_cons(Botan::SET)
        .start_cons(Botan::SEQUENCE)
        .encode(Botan::OID("2.5.4.3"))
        .encode(Botan::ASN1_String(" a,b+c ", Botan::UTF8_STRING))
        .end_cons()
        .start_cons(Botan::SEQUENCE)
        .encode(Botan::OID("2.5.4.11"))
        .encode(Botan::ASN1_String("d", Botan::UTF8_STRING))
        .end_cons()
        .end_cons()
        .end_cons();
    Botan::X509_DN dn;
    Botan::BER_Decoder(encoded).decode(dn);
    // DER sorts the SET's members (the shorter OU first); they are written
    // in the order encoded.
    REQUIRE(rfc4514_name(dn) == "OU=d+CN=\\ a\\,b\\+c\\ ,C=US");
}

TEST_CASE("tftp files: a .sgn carries the payload, version 1.0 and the signer's names") {
    Botan::AutoSeeded_RNG rng;
    const std::string xml = "<device><fullConfig>false</fullConfig></device>";
    const std::vector<std::uint8_t> payload(xml.begin(), xml.end());
    const auto& signer = tftp_identity();
    const auto file = build_signed_file(payload, "SEP001122334455.cnf.xml.sgn", signer,
                                        {FileHash::sha1, 1234}, rng);
    const auto parsed = protocol::parse_signed_file(file);
    REQUIRE(parsed.payload == payload);
    REQUIRE(parsed.header.major == 1);
    REQUIRE(parsed.header.minor == 0);
    REQUIRE_FALSE(parsed.header.encryption);
    REQUIRE(parsed.header.hash == FileHash::sha1);
    REQUIRE(parsed.header.timestamp == 1234);
    REQUIRE(parsed.header.file_name == "SEP001122334455.cnf.xml.sgn");
    REQUIRE(parsed.header.signer.signer_name == rfc4514_name(signer.certificate().subject_dn()));
    REQUIRE(parsed.header.signer.issuer_name == rfc4514_name(signer.certificate().issuer_dn()));
    REQUIRE(parsed.header.signer.serial == signer.certificate().serial_number());
    REQUIRE(parsed.header.signer.serial.front() != 0);  // minimal
    REQUIRE(parsed.header.signer.modulus_bytes == 256);
    REQUIRE(verify_signed_file(file, signer.certificate()));
    REQUIRE_FALSE(verify_signed_file(file, tftp_identity(1024).certificate()));
}

TEST_CASE(
    "tftp files: the ITL's records parse back and match their certificates, its "
    "signature verifies and fails after any change") {
    Botan::AutoSeeded_RNG rng;
    const auto& tftp = tftp_identity();
    const auto& capf = capf_identity_ec().certificate();
    const auto file = build_itl(minimal_itl_entries(tftp, capf), tftp, {FileHash::sha512, 99}, rng);
    const auto parsed = protocol::parse_signed_file(file);
    REQUIRE(parsed.header.major == 1);
    REQUIRE(parsed.header.minor == 2);
    REQUIRE(parsed.header.signer_version == std::pair<std::uint8_t, std::uint8_t>{1, 0});
    REQUIRE(parsed.header.file_name == "ITLFile.tlv");
    REQUIRE(parsed.header_length % 4 == 0);

    const auto records = protocol::parse_itl_records(parsed.payload);
    REQUIRE(records.size() == 3);
    REQUIRE(records[0].role == ItlRole::sast);
    REQUIRE(records[1].role == ItlRole::tftp);
    REQUIRE(records[2].role == ItlRole::capf);
    REQUIRE(records[0].serial == parsed.header.signer.serial);
    for (const auto& record : records) {
        const Botan::X509_Certificate cert(record.certificate_der);
        REQUIRE(record.subject_name == rfc4514_name(cert.subject_dn()));
        REQUIRE(record.issuer_name == rfc4514_name(cert.issuer_dn()));
        REQUIRE(record.serial == cert.serial_number());
        REQUIRE(record.signature == cert.signature());
        const std::unique_ptr<Botan::Public_Key> key(cert.load_subject_public_key());
        if (const auto* rsa = dynamic_cast<const Botan::RSA_PublicKey*>(key.get())) {
            // PKCS#1 RSAPublicKey: SEQUENCE { n, e }, read by hand.
            Botan::BigInt n, e;
            Botan::BER_Decoder(record.public_key)
                .start_cons(Botan::SEQUENCE)
                .decode(n)
                .decode(e)
                .end_cons()
                .verify_end();
            REQUIRE(n == rsa->get_n());
            REQUIRE(e == rsa->get_e());
        } else {
            const auto* ec = dynamic_cast<const Botan::EC_PublicKey*>(key.get());
            REQUIRE(ec != nullptr);
            REQUIRE(record.public_key.size() == 65);
            REQUIRE(record.public_key.front() == 0x04);
            REQUIRE(ec->domain().OS2ECP(record.public_key) == ec->public_point());
        }
    }
    // The SAST record's certificate is the one a phone verifies with.
    const Botan::X509_Certificate sast(records[0].certificate_der);
    REQUIRE(verify_signed_file(file, sast));
    for (std::size_t at : {std::size_t{0}, std::size_t{20}, parsed.header_length - 1,
                           parsed.header_length + 10, file.size() - 1}) {
        CAPTURE(at);
        auto damaged = file;
        damaged[at] ^= 0x01;
        REQUIRE_FALSE(verify_signed_file(damaged, sast));
    }
    for (std::size_t n = 0; n < file.size(); n += 97) {
        const std::vector<std::uint8_t> prefix(file.begin(),
                                               file.begin() + static_cast<std::ptrdiff_t>(n));
        REQUIRE_FALSE(verify_signed_file(prefix, sast));
    }
    REQUIRE_FALSE(verify_signed_file(file, capf));
}

TEST_CASE("tftp files: samples for the openssl check", "[.tftp-samples]") {
    // Run by tests/ca/tftp_openssl_test.sh, which names the folder.
    const char* dir = std::getenv("CAPF_TFTP_SAMPLES_DIR");
    REQUIRE(dir != nullptr);
    const std::filesystem::path out(dir);
    Botan::AutoSeeded_RNG rng;
    const auto& tftp = tftp_identity();
    test::write_text(out / "tftp.pem", tftp.certificate().PEM_encode());
    const auto& phone = test::phone_key({KeySpec::Algorithm::rsa, 2048});
    const std::string xml = "<device><fullConfig>true</fullConfig></device>";
    const std::vector<std::uint8_t> payload(xml.begin(), xml.end());
    for (auto [hash, name] :
         {std::pair{FileHash::sha1, "sha1"}, std::pair{FileHash::sha512, "sha512"}}) {
        const SignedFileOptions options{hash, 1700000000};
        test::write_bytes(
            out / (std::string("config.") + name + ".enc.sgn"),
            build_encrypted_config(xml, spki_of(phone), "SEP001122334455.cnf.xml.enc.sgn", tftp,
                                   options, rng));
        test::write_bytes(
            out / (std::string("config.") + name + ".sgn"),
            build_signed_file(payload, "SEP001122334455.cnf.xml.sgn", tftp, options, rng));
        test::write_bytes(out / (std::string("ITLFile.") + name + ".tlv"),
                          build_itl(minimal_itl_entries(tftp, capf_identity_ec().certificate()),
                                    tftp, options, rng));
    }
}

}  // namespace tftp_files_test_cases
