// What the TVS store keeps of a certificate, and the PEM bundles its
// certificates travel in: written and read back, plain bundles, and every
// refusal naming its line.
#include "ca/certificate_facts.hpp"

#include <botan/data_src.h>
#include <botan/pem.h>
#include <botan/x509cert.h>

#include <catch2/catch.hpp>

#include "ca/error.hpp"
#include "ca/fingerprint.hpp"
#include "ca/names.hpp"
#include "tests/ca/ca_test_support.hpp"

// The file's own namespace: the suite is compiled in unity batches, and its
// file-local names must not meet another file's.
namespace certificate_facts_test_cases {

using namespace capf;
using protocol::ItlRole;
using namespace std::chrono_literals;

namespace {

const ca::KeySpec quick_key{ca::KeySpec::Algorithm::ec, 256};

/// Made once per test binary and never destroyed (Botan's allocator may be
/// gone before our statics).
const ca::Identity& first() {
    static const auto* id = new ca::Identity(test::make_ca("TVS First", 30, quick_key));
    return *id;
}
const ca::Identity& second() {
    static const auto* id = new ca::Identity(test::make_ca("TVS Second", 30, quick_key));
    return *id;
}

std::vector<std::uint8_t> der_of(const ca::Identity& id) {
    const auto der = id.certificate().BER_encode();
    return {der.begin(), der.end()};
}

std::vector<std::uint8_t> bytes_of(const std::string& text) {
    return {text.begin(), text.end()};
}

/// The CaError code and message of `f`; fails the test when none.
template <typename F>
std::pair<ca::CaErrc, std::string> ca_error_of(F&& f) {
    try {
        f();
    } catch (const ca::CaError& e) {
        return {e.code(), e.what()};
    }
    FAIL("no CaError thrown");
    return {};
}

}  // namespace

TEST_CASE("certificate facts: hash of the DER, readable names, serial, not after") {
    const auto& cert = first().certificate();
    const auto der = der_of(first());
    const auto from_der = ca::certificate_facts(der);
    CHECK(from_der.der == der);
    CHECK(from_der.sha256_hex == ca::sha256_hex(der));
    CHECK(from_der.sha256_hex.size() == 64);
    CHECK(from_der.subject == ca::dn_text(cert.subject_dn()));
    CHECK(from_der.subject.find("CN=TVS First") != std::string::npos);
    CHECK(from_der.issuer == from_der.subject);  // self-signed
    CHECK(from_der.serial_hex.find_first_not_of("0123456789abcdef") == std::string::npos);
    CHECK(from_der.serial_hex.substr(0, 2) != "00");
    CHECK(from_der.not_after == cert.not_after().to_std_timepoint());

    // PEM, with text around it, gives the same facts.
    const auto from_pem =
        ca::certificate_facts(bytes_of("subject=whatever\n" + cert.PEM_encode() + "\n"));
    CHECK(from_pem.der == der);
    CHECK(from_pem.sha256_hex == from_der.sha256_hex);
    CHECK(from_pem.serial_hex == from_der.serial_hex);
}

TEST_CASE("certificate facts: anything but one certificate is refused, saying why") {
    auto [code, message] = ca_error_of([] { ca::certificate_facts(bytes_of("garbage")); });
    CHECK(code == ca::CaErrc::malformed_certificate);
    CHECK_THAT(message, Catch::StartsWith("not a PEM or DER X.509 certificate"));

    std::tie(code, message) = ca_error_of([] {
        ca::certificate_facts(
            bytes_of(first().certificate().PEM_encode() + second().certificate().PEM_encode()));
    });
    CHECK(code == ca::CaErrc::malformed_certificate);
    CHECK(message == "the PEM text holds 2 certificates; give one, or import it as a bundle");

    std::tie(code, message) =
        ca_error_of([] { ca::certificate_facts(bytes_of("-----BEGIN CERTIFICATE-----\nAAAA\n")); });
    CHECK(code == ca::CaErrc::malformed_certificate);
    CHECK_THAT(message, Catch::Contains("line 1: the certificate begun here has no END"));
}

TEST_CASE("pem bundle: written with roles and TTL, read back the same") {
    std::vector<ca::BundleEntry> entries(2);
    entries[0].der = der_of(first());
    entries[0].roles = {ItlRole::sast, ItlRole::tftp};
    entries[0].ttl = 86400s;
    entries[1].der = der_of(second());  // no roles, no TTL: no such comments
    const std::string text = ca::write_pem_bundle(entries);
    CHECK(text.find("# roles: sast, tftp\n# ttl: 86400\n-----BEGIN CERTIFICATE-----") !=
          std::string::npos);
    CHECK(text.find("# subject: " + ca::dn_text(first().certificate().subject_dn())) !=
          std::string::npos);
    CHECK(text.find("# sha256: " + ca::sha256_hex(entries[1].der)) != std::string::npos);

    const auto back = ca::parse_pem_bundle(text);
    REQUIRE(back.size() == 2);
    CHECK(back[0].der == entries[0].der);
    CHECK(back[0].roles == entries[0].roles);
    CHECK(back[0].ttl == 86400s);
    CHECK(back[1].der == entries[1].der);
    CHECK(back[1].roles.empty());
    CHECK_FALSE(back[1].ttl.has_value());
    CHECK(back[0].line > 1);
    CHECK(back[1].line > back[0].line);
    // The bundle writes the same text again.
    CHECK(ca::write_pem_bundle(back) == text);
}

TEST_CASE("pem bundle: plain PEM bundles, capitals and other units are read") {
    const std::string plain =
        first().certificate().PEM_encode() + "\r\n" + second().certificate().PEM_encode();
    const auto entries = ca::parse_pem_bundle(plain);
    REQUIRE(entries.size() == 2);
    CHECK(entries[0].der == der_of(first()));
    CHECK(entries[1].der == der_of(second()));
    CHECK(entries[0].roles.empty());

    const auto commented = ca::parse_pem_bundle("# a title line\n# Roles: CCM,APP-SERVER tvs\n" +
                                                std::string("# TTL: 2h\n# note: anything\n") +
                                                first().certificate().PEM_encode());
    REQUIRE(commented.size() == 1);
    CHECK(commented[0].roles ==
          std::vector<ItlRole>{ItlRole::ccm, ItlRole::app_server, ItlRole::tvs});
    CHECK(commented[0].ttl == 7200s);
}

TEST_CASE("pem bundle: a name cannot forge a comment line") {
    static const auto* forged =
        new ca::Identity(test::make_ca("Evil\n# roles: sast\n# ttl: 1", 30, quick_key));
    std::vector<ca::BundleEntry> entries(1);
    const auto der = forged->certificate().BER_encode();
    entries[0].der.assign(der.begin(), der.end());
    entries[0].roles = {ItlRole::app_server};
    const auto back = ca::parse_pem_bundle(ca::write_pem_bundle(entries));
    REQUIRE(back.size() == 1);
    CHECK(back[0].roles == std::vector<ItlRole>{ItlRole::app_server});
    CHECK_FALSE(back[0].ttl.has_value());
}

TEST_CASE("pem bundle: each malformed bundle is refused naming the line and the fault") {
    const std::string good = first().certificate().PEM_encode();
    const std::string other_sha = ca::sha256_hex(der_of(second()));
    const std::vector<std::pair<std::string, std::string>> cases = {
        {"", "no certificate in the bundle"},
        {"# roles: tftp\n", "no certificate in the bundle"},
        {"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
         "line 1: a PEM block of PRIVATE KEY, not a certificate"},
        {"\n-----BEGIN CERTIFICATE-----\nAAAA\n", "line 2: the certificate begun here has no END"},
        {"-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n",
         "line 1: the certificate does not parse"},
        {"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
         "line 1: the certificate does not parse"},
        {"# roles: tftp, manager\n" + good,
         "line 1: unknown role 'manager' in the roles comment; "
         "allowed: sast, ccm, ccm-tftp, tftp, capf, "
         "app-server, tvs"},
        {"# roles: tftp\n# ttl: soon\n" + good, "line 2: ttl 'soon' must be a number of seconds"},
        {"# ttl: 0\n" + good, "line 1: ttl '0' must be"},
        {"# ttl: 3000000000\n" + good, "line 1: ttl '3000000000' must be"},
        {"# sha256: " + other_sha + "\n" + good,
         "line 2: the sha256 comment says " + other_sha + " but the certificate's is"},
    };
    for (const auto& [text, expected] : cases) {
        INFO(text);
        const auto [code, message] = ca_error_of([&text = text] { ca::parse_pem_bundle(text); });
        CHECK(code == ca::CaErrc::malformed_bundle);
        CHECK_THAT(message, Catch::StartsWith(expected));
    }
}

}  // namespace certificate_facts_test_cases
