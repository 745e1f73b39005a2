// A certificate a phone returned in FETCH_CERT_RESPONSE is recorded only when
// it belongs to the device: it chains to an LSC issuer (CN == name) or to a
// MIC root (names_device(CN)). Dates are not enforced.
#include <catch2/catch.hpp>

#include "ca/verify.hpp"
#include "tests/ca/chain_test_support.hpp"

// The file's own namespace: the suite is compiled in unity batches, and its
// file-local names must not meet another file's.
namespace fetch_test_cases {

using namespace capf;
using namespace capf::ca;
using test::CertSpec;
using test::make_cert;
using test::named_key;
using test::TestCert;

namespace {

const std::string device = "SEP001122334455";

struct FetchWorld {
    TestCert capf = test::make_root("Fetch Test CAPF", named_key("fetch-capf"));
    TestCert mic_root = test::make_root("Fetch Test MIC Root", named_key("fetch-mic-root"));
    TestCert mic_ca =
        test::make_intermediate("Fetch Test MIC CA", named_key("fetch-mic-ca"), mic_root);
    TrustStore trust;
    FetchWorld() {
        trust.add(TrustRole::lsc_issuer, capf.cert);
        trust.add(TrustRole::mic_root, mic_root.cert);
        trust.add(TrustRole::intermediate, mic_ca.cert);
    }
};

FetchWorld& world() {
    static auto* w = new FetchWorld();  // never destroyed: see phone_key()
    return *w;
}

Verification fetched(const TestCert& cert, const VerifyPolicy& policy = {},
                     std::chrono::system_clock::time_point now = std::chrono::system_clock::now()) {
    const auto der = cert.der();
    auto v = check_fetched_certificate(world().trust, device, der, policy, now);
    INFO(v.detail);
    return v;
}

}  // namespace

TEST_CASE("fetch: the device's own LSC belongs") {
    const auto lsc = make_cert(CertSpec(device), named_key("fetch-lsc"), &world().capf);
    const auto v = fetched(lsc);
    REQUIRE(v.ok());
    CHECK(v.verified->role == CertificateRole::lsc);
    CHECK(v.verified->subject_cn == device);
}

TEST_CASE("fetch: an LSC of another device does not belong (not_bound_to_device)") {
    const auto other =
        make_cert(CertSpec("SEP00AABBCCDDEE"), named_key("fetch-lsc"), &world().capf);
    CHECK(fetched(other).failure == AuthFailure::not_bound_to_device);
}

TEST_CASE("fetch: a self-signed certificate naming the device does not belong (untrusted_chain)") {
    const auto self_signed = make_cert(CertSpec(device), named_key("fetch-lsc"));
    CHECK(fetched(self_signed).failure == AuthFailure::untrusted_chain);
    auto ca_spec = CertSpec(device).ca();
    const auto self_signed_ca = make_cert(ca_spec, named_key("fetch-lsc"));
    CHECK(fetched(self_signed_ca).failure == AuthFailure::untrusted_chain);
}

TEST_CASE("fetch: an expired LSC of the device still belongs") {
    const auto lsc = make_cert(CertSpec(device), named_key("fetch-lsc"), &world().capf);
    const auto later = std::chrono::system_clock::now() + std::chrono::hours(24 * 400);
    const auto v = fetched(lsc, {}, later);
    INFO(v.detail);
    CHECK(v.ok());
    // The same certificate would not authenticate then.
    const auto p = test::present_cert(lsc, CertificateRole::lsc, device);
    CHECK(
        verify_presented_certificate(world().trust, device, p, 1, VerifyPolicy{}, later).failure ==
        AuthFailure::outside_validity);
}

TEST_CASE("fetch: the device's MIC belongs, through a configured intermediate") {
    const auto mic =
        make_cert(CertSpec("CP-7962G-SEP001122334455"), named_key("fetch-mic"), &world().mic_ca);
    const auto v = fetched(mic);
    REQUIRE(v.ok());
    CHECK(v.verified->role == CertificateRole::mic);
}

TEST_CASE("fetch: a MIC naming the MAC only inside a longer token does not belong") {
    const auto mic =
        make_cert(CertSpec("CP-7962G-SEP00112233445566"), named_key("fetch-mic"), &world().mic_ca);
    CHECK(fetched(mic).failure == AuthFailure::not_bound_to_device);
}

TEST_CASE("fetch: a weak chain is refused under a strict policy") {
    const auto mic = make_cert(CertSpec("CP-7962G-SEP001122334455").hashed_with("SHA-160"),
                               named_key("fetch-mic"), &world().mic_ca);
    CHECK(fetched(mic).ok());
    VerifyPolicy strict;
    strict.lsc = strict.mic = strict_chain_policy();
    CHECK(fetched(mic, strict).failure == AuthFailure::weak_chain);
}

TEST_CASE("fetch: junk is malformed_certificate, never an exception") {
    const std::vector<std::uint8_t> junk = {0x30, 0x03, 0x02, 0x01, 0x01};
    Verification v;
    REQUIRE_NOTHROW(v = check_fetched_certificate(world().trust, device, junk, VerifyPolicy{}));
    CHECK(v.failure == AuthFailure::malformed_certificate);
    REQUIRE_NOTHROW(v = check_fetched_certificate(world().trust, device, {}, VerifyPolicy{}));
    CHECK(v.failure == AuthFailure::malformed_certificate);
}

}  // namespace fetch_test_cases
