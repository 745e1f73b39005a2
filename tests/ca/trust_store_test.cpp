#include "ca/trust_store.hpp"

#include <catch2/catch.hpp>

#include "ca/error.hpp"
#include "ca/fingerprint.hpp"
#include "tests/ca/ca_test_support.hpp"

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
