// Chains validated by Botan's path validation: intermediates sent or
// configured, anchors that must be CAs, and the per-role key-size and SHA-1
// policy. Each test is named for the attack (or the legacy phone) it is about.
#include "ca/chain.hpp"

#include <catch2/catch.hpp>

#include "ca/error.hpp"
#include "ca/verify.hpp"
#include "tests/ca/chain_test_support.hpp"

// The file's own namespace: the suite is compiled in unity batches, and its
// file-local names must not meet another file's.
namespace chain_test_cases {

using namespace capf;
using namespace capf::ca;
using test::CertSpec;
using test::make_cert;
using test::named_key;
using test::TestCert;

namespace {

const std::string device = "SEP001122334455";
const std::string mic_cn = "CP-7962G-SEP001122334455";
constexpr std::uint32_t session_id = 0x01020304;

/// root -> manufacturing CA -> MIC, each with its own key.
struct MicChain {
    TestCert root = test::make_root("Chain Test Root", named_key("chain-root"));
    TestCert manufacturing =
        test::make_intermediate("Chain Test Manufacturing CA", named_key("chain-mfg"), root);
    TestCert mic = make_cert(CertSpec(mic_cn), named_key("chain-mic"), &manufacturing);
};

const MicChain& chain() {
    static auto* c = new MicChain();  // never destroyed: see phone_key()
    return *c;
}

Verification verify(const TrustStore& trust, const PresentedCertificate& p,
                    const VerifyPolicy& policy = {}) {
    auto v = verify_presented_certificate(trust, device, p, session_id, policy);
    INFO(v.detail);
    return v;
}

VerifyPolicy strict_mic() {
    VerifyPolicy policy;
    policy.mic = strict_chain_policy();
    return policy;
}

}  // namespace

TEST_CASE(
    "a three-level MIC chain (root, manufacturing CA, MIC) authenticates with only the root "
    "trusted and the intermediate sent by the phone") {
    TrustStore trust;
    trust.add(TrustRole::mic_root, chain().root.cert);
    const auto p = test::present_cert(chain().mic, CertificateRole::mic, device,
                                      {chain().manufacturing.der()});
    const auto v = verify(trust, p);
    INFO(v.detail);
    REQUIRE(v.ok());
    CHECK(v.verified->role == CertificateRole::mic);
    CHECK(v.verified->subject_cn == mic_cn);
}

TEST_CASE(
    "a three-level MIC chain authenticates with the intermediate configured "
    "(TrustRole::intermediate)") {
    TrustStore trust;
    trust.add(TrustRole::mic_root, chain().root.cert);
    trust.add(TrustRole::intermediate, chain().manufacturing.cert);
    const auto v = verify(trust, test::present_cert(chain().mic, CertificateRole::mic, device));
    INFO(v.detail);
    CHECK(v.ok());
}

TEST_CASE("a three-level MIC chain without the intermediate is untrusted_chain") {
    TrustStore trust;
    trust.add(TrustRole::mic_root, chain().root.cert);
    const auto v = verify(trust, test::present_cert(chain().mic, CertificateRole::mic, device));
    CHECK(v.failure == AuthFailure::untrusted_chain);
    CHECK_THAT(v.detail, Catch::Contains("mic-root"));
}

TEST_CASE("an intermediate sent by the phone that does not chain to a root is untrusted_chain") {
    TrustStore trust;
    trust.add(TrustRole::mic_root, chain().root.cert);

    // An attacker's own root and manufacturing CA, issuing a MIC for the device.
    const auto rogue_root = test::make_root("Rogue Root", named_key("rogue-root"));
    const auto rogue_ca = test::make_intermediate("Rogue CA", named_key("rogue-ca"), rogue_root);
    const auto rogue_mic = make_cert(CertSpec(mic_cn), named_key("rogue-mic"), &rogue_ca);
    auto v = verify(trust, test::present_cert(rogue_mic, CertificateRole::mic, device,
                                              {rogue_ca.der(), rogue_root.der()}));
    CHECK(v.failure == AuthFailure::untrusted_chain);

    // A forged manufacturing CA: the real root's name as issuer, the attacker's signature.
    TestCert forged_issuer{chain().root.cert, &named_key("rogue-root")};
    const auto forged_ca = test::make_intermediate("Chain Test Manufacturing CA",
                                                   named_key("rogue-ca"), forged_issuer);
    const auto forged_mic = make_cert(CertSpec(mic_cn), named_key("rogue-mic"), &forged_ca);
    REQUIRE(forged_ca.cert.issuer_dn() == chain().root.cert.subject_dn());
    v = verify(trust,
               test::present_cert(forged_mic, CertificateRole::mic, device, {forged_ca.der()}));
    CHECK(v.failure == AuthFailure::untrusted_chain);
}

TEST_CASE("an intermediate in the store is not an anchor") {
    // The manufacturing CA (and even the root) configured only as intermediates anchor nothing.
    TrustStore trust;
    trust.add(TrustRole::intermediate, chain().manufacturing.cert);
    auto v = verify(trust, test::present_cert(chain().mic, CertificateRole::mic, device));
    CHECK(v.failure == AuthFailure::untrusted_chain);
    trust.add(TrustRole::intermediate, chain().root.cert);
    v = verify(trust, test::present_cert(chain().mic, CertificateRole::mic, device));
    CHECK(v.failure == AuthFailure::untrusted_chain);
    // Nor does a root sent by the phone.
    v = verify(trust, test::present_cert(chain().mic, CertificateRole::mic, device,
                                         {chain().manufacturing.der(), chain().root.der()}));
    CHECK(v.failure == AuthFailure::untrusted_chain);
}

TEST_CASE("a MIC chain does not authenticate as an LSC: anchors are per role") {
    TrustStore trust;
    trust.add(TrustRole::lsc_issuer, chain().manufacturing.cert);
    trust.add(TrustRole::sudi_root, chain().root.cert);
    const auto v = verify(trust, test::present_cert(chain().mic, CertificateRole::mic, device,
                                                    {chain().manufacturing.der()}));
    CHECK(v.failure == AuthFailure::untrusted_chain);
}

TEST_CASE("a malformed intermediate sent by the phone is malformed_certificate") {
    TrustStore trust;
    trust.add(TrustRole::mic_root, chain().root.cert);
    auto truncated = chain().manufacturing.der();
    truncated.resize(truncated.size() / 2);
    const auto v =
        verify(trust, test::present_cert(chain().mic, CertificateRole::mic, device, {truncated}));
    CHECK(v.failure == AuthFailure::malformed_certificate);
    CHECK_THAT(v.detail, Catch::Contains("intermediate"));
}

TEST_CASE("an expired intermediate makes the chain outside_validity") {
    TrustStore trust;
    trust.add(TrustRole::mic_root, chain().root.cert);
    const auto now = std::chrono::system_clock::now();
    auto expired = CertSpec("Expired Manufacturing CA").ca();
    expired.not_before = now - std::chrono::hours(24 * 30);
    expired.not_after = now - std::chrono::hours(24);
    const auto old_ca = make_cert(expired, named_key("old-ca"), &chain().root);
    const auto mic = make_cert(CertSpec(mic_cn), named_key("chain-mic"), &old_ca);
    const auto v =
        verify(trust, test::present_cert(mic, CertificateRole::mic, device, {old_ca.der()}));
    CHECK(v.failure == AuthFailure::outside_validity);
    CHECK_THAT(v.detail, Catch::Contains("Expired Manufacturing CA"));
}

namespace {

/// root (2048, SHA-256) -> an old manufacturing CA with an RSA-1024 key -> a
/// MIC signed with EMSA3(SHA-160), as old phones carry.
struct LegacyChain {
    TestCert root = test::make_root("Legacy Root", named_key("legacy-root"));
    TestCert weak_ca =
        test::make_intermediate("Legacy Manufacturing CA", named_key("legacy-ca", 1024), root);
    TestCert mic =
        make_cert(CertSpec(mic_cn).hashed_with("SHA-160"), named_key("legacy-mic"), &weak_ca);
};

const LegacyChain& legacy() {
    static auto* c = new LegacyChain();
    return *c;
}

const TrustStore& legacy_trust() {
    static auto* trust = [] {
        auto* t = new TrustStore();
        t->add(TrustRole::mic_root, legacy().root.cert);
        return t;
    }();
    return *trust;
}

}  // namespace

TEST_CASE(
    "a MIC signed with SHA-1 by a 1024-bit intermediate authenticates under the legacy policy") {
    REQUIRE(legacy().mic.cert.hash_used_for_signature() == "SHA-160");
    const auto p =
        test::present_cert(legacy().mic, CertificateRole::mic, device, {legacy().weak_ca.der()});
    const auto v = verify(legacy_trust(), p);  // the default policy is legacy
    INFO(v.detail);
    CHECK(v.ok());
    VerifyPolicy explicit_legacy;
    explicit_legacy.mic = legacy_chain_policy();
    CHECK(verify(legacy_trust(), p, explicit_legacy).ok());
}

TEST_CASE(
    "a MIC signed with SHA-1 by a 1024-bit intermediate is refused as weak_chain under strict") {
    const auto p =
        test::present_cert(legacy().mic, CertificateRole::mic, device, {legacy().weak_ca.der()});
    const auto v = verify(legacy_trust(), p, strict_mic());
    CHECK(v.failure == AuthFailure::weak_chain);
    CHECK_FALSE(v.detail.empty());
    // The policy is per role: a strict LSC policy leaves this MIC alone.
    VerifyPolicy strict_lsc;
    strict_lsc.lsc = strict_chain_policy();
    CHECK(verify(legacy_trust(), p, strict_lsc).ok());
}

TEST_CASE("a 1024-bit intermediate alone (SHA-256 signatures) is weak_chain under strict") {
    const TrustStore& trust = legacy_trust();
    const auto mic = make_cert(CertSpec(mic_cn), named_key("legacy-mic"), &legacy().weak_ca);
    const auto p = test::present_cert(mic, CertificateRole::mic, device, {legacy().weak_ca.der()});
    CHECK(verify(trust, p).ok());
    const auto v = verify(trust, p, strict_mic());
    CHECK(v.failure == AuthFailure::weak_chain);
    CHECK_THAT(v.detail, Catch::Contains("Legacy Manufacturing CA") && Catch::Contains("1024"));
}

TEST_CASE("a SHA-1 signature alone (2048-bit keys) is weak_chain when SHA-1 is not accepted") {
    TrustStore trust;
    trust.add(TrustRole::mic_root, chain().root.cert);
    const auto mic = make_cert(CertSpec(mic_cn).hashed_with("SHA-160"), named_key("chain-mic"),
                               &chain().manufacturing);
    const auto p =
        test::present_cert(mic, CertificateRole::mic, device, {chain().manufacturing.der()});
    VerifyPolicy big_keys_with_sha1;
    big_keys_with_sha1.mic = ChainPolicy{2048, true};
    CHECK(verify(trust, p, big_keys_with_sha1).ok());
    const auto v = verify(trust, p, strict_mic());
    CHECK(v.failure == AuthFailure::weak_chain);
    CHECK_THAT(v.detail, Catch::Contains(mic_cn));
}

TEST_CASE("a leaf key below min_rsa_bits is weak_chain") {
    TrustStore trust;
    trust.add(TrustRole::mic_root, chain().root.cert);
    const auto mic =
        make_cert(CertSpec(mic_cn), named_key("small-mic", 1024), &chain().manufacturing);
    const auto p =
        test::present_cert(mic, CertificateRole::mic, device, {chain().manufacturing.der()});
    CHECK(verify(trust, p).ok());  // 1024 bits meet the legacy policy
    const auto v = verify(trust, p, strict_mic());
    CHECK(v.failure == AuthFailure::weak_chain);
    CHECK_THAT(v.detail, Catch::Contains(mic_cn) && Catch::Contains("1024 bits"));
}

TEST_CASE("the named policies are what they say") {
    CHECK(legacy_chain_policy().min_rsa_bits == 1024);
    CHECK(legacy_chain_policy().accept_sha1);
    CHECK(strict_chain_policy().min_rsa_bits == 2048);
    CHECK_FALSE(strict_chain_policy().accept_sha1);
    const VerifyPolicy defaults;
    for (const auto& p : {defaults.lsc, defaults.mic, defaults.sudi}) {
        CHECK(p.min_rsa_bits == 1024);
        CHECK(p.accept_sha1);
    }
    CHECK_FALSE(defaults.require_sudi);
}

TEST_CASE("a chain through a non-CA certificate is refused") {
    TrustStore trust;
    trust.add(TrustRole::mic_root, chain().root.cert);
    // A genuine end-entity certificate under the root (CA:FALSE), whose holder
    // signs a "MIC" for another device with it.
    const auto leaf = make_cert(CertSpec("CP-7962G-SEP00AABBCCDDEE"), named_key("leaf-ca"),
                                &chain().manufacturing);
    REQUIRE_FALSE(leaf.cert.is_CA_cert());
    const auto mic = make_cert(CertSpec(mic_cn), named_key("chain-mic"), &leaf);
    const auto v = verify(trust, test::present_cert(mic, CertificateRole::mic, device,
                                                    {leaf.der(), chain().manufacturing.der()}));
    CHECK(v.failure == AuthFailure::untrusted_chain);
    // And the store will not hold it as an intermediate either.
    CHECK_THROWS_AS(trust.add(TrustRole::intermediate, leaf.cert), CaError);
}

TEST_CASE("validate_chain never throws and reports a role without anchors") {
    const auto r = validate_chain(chain().mic.cert, {}, {}, legacy_chain_policy(),
                                  std::chrono::system_clock::now());
    CHECK(r.failure == ChainFailure::untrusted);
    CHECK_THAT(r.detail, Catch::Contains("no anchor"));
}

}  // namespace chain_test_cases
