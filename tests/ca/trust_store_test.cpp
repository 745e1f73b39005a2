#include "ca/trust_store.hpp"

#include <botan/auto_rng.h>
#include <botan/x509self.h>

#include <catch2/catch.hpp>
#include <set>

#include "ca/error.hpp"
#include "ca/fingerprint.hpp"
#include "ca/names.hpp"
#include "tests/ca/ca_test_support.hpp"

// The file's own namespace: the suite is compiled in unity batches, and its
// file-local names must not meet another file's.
namespace trust_store_test_cases {

using namespace capf;
using namespace capf::ca;

TEST_CASE("trust anchors are added from PEM bundles and DER files, duplicates ignored") {
    const auto a = test::make_ca("Root A");
    const auto b = test::make_ca("Root B");
    test::TempDir dir;
    test::write_text(dir / "bundle.pem",
                     a.certificate().PEM_encode() + b.certificate().PEM_encode());
    test::write_bytes(dir / "a.der", a.certificate().BER_encode());

    TrustStore store;
    CHECK(store.add_file(TrustRole::mic_root, dir / "bundle.pem") == 2);
    CHECK(store.add_file(TrustRole::mic_root, dir / "bundle.pem") == 0);
    CHECK(store.add_file(TrustRole::mic_root, dir / "a.der") == 0);
    CHECK(store.list(TrustRole::mic_root).size() == 2);
    CHECK(store.list(TrustRole::lsc_issuer).empty());  // roles are separate
    CHECK(store.add_file(TrustRole::lsc_issuer, dir / "a.der") == 1);

    const auto listed = store.list(TrustRole::mic_root);
    CHECK_THAT(listed[0].subject, Catch::Contains("Root A"));
    CHECK(listed[0].sha256_hex == sha256_hex(a.certificate().BER_encode()));
}

TEST_CASE("trust anchors are removed by fingerprint") {
    const auto a = test::make_ca("Root C");
    TrustStore store;
    REQUIRE(store.add(TrustRole::lsc_issuer, a.certificate()));
    const auto fp = sha256_hex(a.certificate().BER_encode());
    CHECK_FALSE(store.remove(TrustRole::mic_root, fp));
    CHECK(store.remove(TrustRole::lsc_issuer, fp));
    CHECK_FALSE(store.remove(TrustRole::lsc_issuer, fp));
    CHECK(store.anchors(TrustRole::lsc_issuer).empty());
}

TEST_CASE("unreadable trust files are refused, naming the file") {
    test::TempDir dir;
    test::write_text(dir / "junk.pem", "not a certificate\n");
    TrustStore store;
    try {
        store.add_file(TrustRole::mic_root, dir / "junk.pem");
        FAIL("junk accepted");
    } catch (const CaError& e) {
        CHECK(e.code() == CaErrc::file_unreadable);
        CHECK_THAT(std::string(e.what()), Catch::Contains("junk.pem"));
    }
    CHECK_THROWS_AS(store.add_file(TrustRole::mic_root, dir / "missing.pem"), CaError);
}

namespace {

/// A self-signed certificate with the given validity, CA or not.
Botan::X509_Certificate self_signed(const std::string& cn, bool is_ca,
                                    std::chrono::system_clock::time_point start,
                                    std::chrono::system_clock::time_point end) {
    Botan::X509_Cert_Options opts(cn);
    opts.start = Botan::X509_Time(start);
    opts.end = Botan::X509_Time(end);
    if (is_ca)
        opts.CA_key();
    Botan::AutoSeeded_RNG rng;
    return Botan::X509::create_self_signed_cert(
        opts, test::phone_key({KeySpec::Algorithm::rsa, 2048}), "SHA-256", rng);
}

std::vector<std::uint8_t> bytes_of(const std::string& s) {
    return {s.begin(), s.end()};
}

}  // namespace

TEST_CASE("a trust anchor offered by an administrator must be a current CA certificate") {
    const auto now = std::chrono::system_clock::now();
    const auto day = std::chrono::hours(24);
    const auto root = test::make_ca("Offered Root");

    const auto from_pem = parse_trust_anchor(bytes_of(root.certificate().PEM_encode()));
    CHECK(from_pem == root.certificate());
    const auto der = root.certificate().BER_encode();
    CHECK(parse_trust_anchor(std::vector<std::uint8_t>(der.begin(), der.end())) ==
          root.certificate());

    auto refused = [](std::span<const std::uint8_t> bytes) -> std::pair<CaErrc, std::string> {
        try {
            parse_trust_anchor(bytes);
        } catch (const CaError& e) {
            return {e.code(), e.what()};
        }
        FAIL("accepted");
        return {};
    };
    const auto leaf = self_signed("leaf.example", false, now - day, now + 30 * day);
    auto [code, message] = refused(bytes_of(leaf.PEM_encode()));
    CHECK(code == CaErrc::not_a_ca);
    CHECK_THAT(message, Catch::Contains("CN=leaf.example") && Catch::Contains("CA:TRUE"));

    const auto expired = self_signed("Old Root", true, now - 30 * day, now - day);
    std::tie(code, message) = refused(bytes_of(expired.PEM_encode()));
    CHECK(code == CaErrc::certificate_expired);
    CHECK_THAT(message, Catch::Contains("CN=Old Root") && Catch::Contains("expired on"));

    std::tie(code, message) = refused(bytes_of("-----BEGIN CERTIFICATE-----\nAAAA\n"));
    CHECK(code == CaErrc::malformed_certificate);
    std::tie(code, message) = refused({});
    CHECK(code == CaErrc::malformed_certificate);
}

TEST_CASE("a reload replaces every anchor of every role at once") {
    const auto a = test::make_ca("Reload A");
    const auto b = test::make_ca("Reload B");
    TrustStore live;
    live.add(TrustRole::lsc_issuer, a.certificate());
    live.add(TrustRole::mic_root, a.certificate());
    TrustStore fresh;
    fresh.add(TrustRole::mic_root, b.certificate());
    live.replace_with(fresh);
    CHECK(live.anchors(TrustRole::lsc_issuer).empty());
    REQUIRE(live.anchors(TrustRole::mic_root).size() == 1);
    CHECK(live.anchors(TrustRole::mic_root)[0] == b.certificate());
    live.replace_with(live);  // harmless
    CHECK(live.anchors(TrustRole::mic_root).size() == 1);
}

TEST_CASE("distinguished names read as people write them") {
    const auto a = test::make_ca("Name, With Comma");
    CHECK(dn_text(a.certificate().subject_dn()) ==
          "CN=Name\\, With Comma, O=Example Hospital, OU=Telecom, C=US");
}

TEST_CASE("trust roles are named and parsed both ways, all four of them") {
    std::set<std::string_view> names;
    for (const auto role : all_trust_roles) {
        names.insert(trust_role_name(role));
        CHECK(parse_trust_role(trust_role_name(role)) == role);
    }
    CHECK(names ==
          std::set<std::string_view>{"lsc-issuer", "mic-root", "sudi-root", "intermediate"});
    CHECK_FALSE(parse_trust_role("MIC-ROOT").has_value());
    CHECK_FALSE(parse_trust_role("").has_value());
    CHECK_FALSE(parse_trust_role("mic-root ").has_value());
}

TEST_CASE("a non-CA anchor is refused by TrustStore::add, for every role") {
    const auto now = std::chrono::system_clock::now();
    const auto day = std::chrono::hours(24);
    const auto leaf = self_signed("leaf.example", false, now - day, now + 30 * day);
    TrustStore store;
    for (const auto role : all_trust_roles) {
        INFO(trust_role_name(role));
        try {
            store.add(role, leaf);
            FAIL("a non-CA certificate was accepted");
        } catch (const CaError& e) {
            CHECK(e.code() == CaErrc::not_a_ca);
            CHECK_THAT(std::string(e.what()), Catch::Contains("CN=leaf.example"));
        }
        CHECK(store.anchors(role).empty());
    }
}

TEST_CASE("a bundle with a non-CA certificate is refused whole, naming the subject and the file") {
    const auto now = std::chrono::system_clock::now();
    const auto day = std::chrono::hours(24);
    const auto root = test::make_ca("Bundle Root");
    const auto leaf = self_signed("leaf.example", false, now - day, now + 30 * day);
    test::TempDir dir;
    test::write_text(dir / "mixed.pem", root.certificate().PEM_encode() + leaf.PEM_encode());
    TrustStore store;
    for (const auto role : all_trust_roles) {
        INFO(trust_role_name(role));
        try {
            store.add_file(role, dir / "mixed.pem");
            FAIL("a bundle with a non-CA certificate was accepted");
        } catch (const CaError& e) {
            CHECK(e.code() == CaErrc::not_a_ca);
            CHECK_THAT(std::string(e.what()),
                       Catch::Contains("CN=leaf.example") && Catch::Contains("mixed.pem"));
        }
        CHECK(store.anchors(role).empty());
    }
}

TEST_CASE("a reload replaces the certificates of all four roles") {
    const auto a = test::make_ca("Reload4 A");
    const auto b = test::make_ca("Reload4 B");
    TrustStore live;
    for (const auto role : all_trust_roles)
        live.add(role, a.certificate());
    TrustStore fresh;
    fresh.add(TrustRole::sudi_root, b.certificate());
    fresh.add(TrustRole::intermediate, b.certificate());
    live.replace_with(fresh);
    CHECK(live.anchors(TrustRole::lsc_issuer).empty());
    CHECK(live.anchors(TrustRole::mic_root).empty());
    REQUIRE(live.anchors(TrustRole::sudi_root).size() == 1);
    CHECK(live.anchors(TrustRole::sudi_root)[0] == b.certificate());
    REQUIRE(live.anchors(TrustRole::intermediate).size() == 1);
    CHECK(live.anchors(TrustRole::intermediate)[0] == b.certificate());
}

}  // namespace trust_store_test_cases
