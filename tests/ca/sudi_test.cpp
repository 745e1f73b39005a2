// SUDI (protocol 5.3): when sent it must prove itself for the session, chain
// to a sudi-root anchor and name the same device; failing any of that is a
// refusal, never ignored. require_sudi makes it mandatory. With no sudi-root
// anchor at all (and no require_sudi) a SUDI whose proof holds is accepted as
// unverified evidence.
#include <catch2/catch.hpp>

#include "ca/verify.hpp"
#include "tests/ca/chain_test_support.hpp"

// The file's own namespace: the suite is compiled in unity batches, and its
// file-local names must not meet another file's.
namespace sudi_test_cases {

using namespace capf;
using namespace capf::ca;
using test::CertSpec;
using test::make_cert;
using test::named_key;
using test::TestCert;

namespace {

const std::string device = "SEP001122334455";
constexpr std::uint32_t session_id = 0x0A0B0C0D;

struct SudiWorld {
    TestCert mic_root = test::make_root("SUDI Test MIC Root", named_key("sudi-mic-root"));
    TestCert mic = make_cert(CertSpec("CP-8845-SEP001122334455"), named_key("sudi-mic"), &mic_root);
    TestCert sudi_root = test::make_root("SUDI Test Root", named_key("sudi-root"));
    TestCert sudi_ca = test::make_intermediate("SUDI Test CA", named_key("sudi-ca"), sudi_root);
    TestCert capf = test::make_root("SUDI Test CAPF", named_key("sudi-capf"));
    TestCert lsc = make_cert(CertSpec(device), named_key("sudi-lsc"), &capf);
    TrustStore trust;
    TrustStore without_sudi_roots;  ///< as a default installation: no sudi-root anchor
    SudiWorld() {
        trust.add(TrustRole::mic_root, mic_root.cert);
        trust.add(TrustRole::sudi_root, sudi_root.cert);
        trust.add(TrustRole::intermediate, sudi_ca.cert);
        trust.add(TrustRole::lsc_issuer, capf.cert);
        without_sudi_roots.add(TrustRole::mic_root, mic_root.cert);
        without_sudi_roots.add(TrustRole::intermediate, sudi_ca.cert);
        without_sudi_roots.add(TrustRole::lsc_issuer, capf.cert);
    }
};

SudiWorld& world() {
    static auto* w = new SudiWorld();  // never destroyed: see phone_key()
    return *w;
}

TestCert sudi_for(const CertSpec& spec, const TestCert& issuer) {
    return make_cert(spec, named_key("sudi-leaf"), &issuer);
}

PresentedCertificate mic_with(const std::optional<SudiProof>& sudi) {
    auto p = test::present_cert(world().mic, CertificateRole::mic, device);
    p.sudi = sudi;
    return p;
}

Verification verify(const PresentedCertificate& p, const VerifyPolicy& policy = {}) {
    auto v = verify_presented_certificate(world().trust, device, p, session_id, policy);
    INFO(v.detail);
    return v;
}

Verification verify_without_sudi_roots(const PresentedCertificate& p,
                                       const VerifyPolicy& policy = {}) {
    return verify_presented_certificate(world().without_sudi_roots, device, p, session_id, policy);
}

VerifyPolicy sudi_required() {
    VerifyPolicy policy;
    policy.require_sudi = true;
    return policy;
}

}  // namespace

TEST_CASE("a valid SUDI chained to a sudi-root is accepted and marked verified") {
    const auto sudi = sudi_for(CertSpec("CP-8845-SEP001122334455"), world().sudi_ca);
    const auto v = verify(mic_with(test::sudi_proof(sudi, session_id)));
    INFO(v.detail);
    REQUIRE(v.ok());
    CHECK(v.verified->sudi == SudiEvidence::verified);
    // Without a SUDI the MIC still authenticates, but nothing says a SUDI was checked.
    const auto without = verify(mic_with(std::nullopt));
    REQUIRE(without.ok());
    CHECK(without.verified->sudi == SudiEvidence::absent);
}

TEST_CASE("a SUDI names the device by serialNumber or a SAN DNS/URI entry too") {
    for (const auto& spec : {CertSpec("Cisco SUDI").serial_number("SEP001122334455"),
                             CertSpec("Cisco SUDI").dns("sep001122334455.example"),
                             CertSpec("Cisco SUDI").uri("urn:mac:001122334455")}) {
        const auto sudi = sudi_for(spec, world().sudi_ca);
        const auto v = verify(mic_with(test::sudi_proof(sudi, session_id)));
        INFO(v.detail);
        CHECK(v.ok());
    }
}

TEST_CASE("a SUDI chained only to a mic-root is sudi_untrusted") {
    // Same manufacturer's MIC root: the SUDI's anchors are sudi-roots only.
    const auto sudi = sudi_for(CertSpec("CP-8845-SEP001122334455"), world().mic_root);
    const auto v = verify(mic_with(test::sudi_proof(sudi, session_id)));
    CHECK(v.failure == AuthFailure::sudi_untrusted);
}

TEST_CASE("a self-made SUDI is sudi_untrusted") {
    const auto self_made = make_cert(CertSpec("CP-8845-SEP001122334455"), named_key("sudi-leaf"));
    const auto v = verify(mic_with(test::sudi_proof(self_made, session_id)));
    CHECK(v.failure == AuthFailure::sudi_untrusted);
}

TEST_CASE("a SUDI of another device is sudi_not_bound_to_device") {
    const auto other =
        sudi_for(CertSpec("CP-8845-SEP00AABBCCDDEE").uri("SEP00112233445566"), world().sudi_ca);
    const auto v = verify(mic_with(test::sudi_proof(other, session_id)));
    CHECK(v.failure == AuthFailure::sudi_not_bound_to_device);
}

TEST_CASE("a SUDI with a bad proof is bad_sudi_proof, even when a SUDI is not required") {
    const auto sudi = sudi_for(CertSpec("CP-8845-SEP001122334455"), world().sudi_ca);
    auto proof = test::sudi_proof(sudi, session_id);
    proof.sha1_signature[proof.sha1_signature.size() / 2] ^= 0x01;
    CHECK(verify(mic_with(proof)).failure == AuthFailure::bad_sudi_proof);
    // A replay from another session.
    CHECK(verify(mic_with(test::sudi_proof(sudi, session_id + 1))).failure ==
          AuthFailure::bad_sudi_proof);
}

TEST_CASE("require_sudi without a SUDI is sudi_missing") {
    CHECK(verify(mic_with(std::nullopt), sudi_required()).failure == AuthFailure::sudi_missing);
    const auto sudi = sudi_for(CertSpec("CP-8845-SEP001122334455"), world().sudi_ca);
    const auto v = verify(mic_with(test::sudi_proof(sudi, session_id)), sudi_required());
    INFO(v.detail);
    CHECK(v.ok());
}

TEST_CASE("a non-RSA SUDI is ignored, so it does not satisfy require_sudi") {
    const auto& ec_key = test::phone_key({KeySpec::Algorithm::ec, 256});
    const auto ec_sudi = make_cert(CertSpec("CP-8845-SEP001122334455"), ec_key, &world().sudi_ca);
    const SudiProof junk{ec_sudi.der(), {1, 2, 3}, 3, {4, 5, 6}};
    const auto ignored = verify(mic_with(junk));
    REQUIRE(ignored.ok());
    CHECK(ignored.verified->sudi == SudiEvidence::absent);
    CHECK(verify(mic_with(junk), sudi_required()).failure == AuthFailure::sudi_missing);
}

TEST_CASE("the SUDI is checked with an LSC too") {
    const auto other = sudi_for(CertSpec("CP-8845-SEP00AABBCCDDEE"), world().sudi_ca);
    auto p = test::present_cert(world().lsc, CertificateRole::lsc, device);
    CHECK(verify(p).ok());
    CHECK(verify(p, sudi_required()).failure == AuthFailure::sudi_missing);
    p.sudi = test::sudi_proof(other, session_id);
    CHECK(verify(p).failure == AuthFailure::sudi_not_bound_to_device);
}

TEST_CASE("the SUDI chain has its own policy") {
    const auto sha1_sudi =
        sudi_for(CertSpec("CP-8845-SEP001122334455").hashed_with("SHA-160"), world().sudi_ca);
    const auto p = mic_with(test::sudi_proof(sha1_sudi, session_id));
    CHECK(verify(p).ok());
    VerifyPolicy strict_mic;
    strict_mic.mic = strict_chain_policy();
    CHECK(verify(p, strict_mic).ok());
    VerifyPolicy strict_sudi;
    strict_sudi.sudi = strict_chain_policy();
    CHECK(verify(p, strict_sudi).failure == AuthFailure::sudi_untrusted);
}

TEST_CASE("with no sudi-root anchor, a SUDI whose proof holds is accepted as unverified") {
    // A phone's SUDI under a manufacturer root the installation never
    // imported, with an LSC and with a MIC: the session is authenticated by
    // the certificate, and the SUDI is kept as evidence only.
    const auto sudi = sudi_for(CertSpec("CP-8845-SEP001122334455"), world().sudi_ca);
    auto lsc = test::present_cert(world().lsc, CertificateRole::lsc, device);
    lsc.sudi = test::sudi_proof(sudi, session_id);
    for (const auto& p : {lsc, mic_with(test::sudi_proof(sudi, session_id))}) {
        const auto v = verify_without_sudi_roots(p);
        INFO(v.detail);
        REQUIRE(v.ok());
        CHECK(v.verified->sudi == SudiEvidence::unverified);
        // Named, so that an operator knows which root to import.
        CHECK(v.verified->sudi_issuer.find("SUDI Test CA") != std::string::npos);
    }
    CHECK(sudi_evidence_text(SudiEvidence::unverified) ==
          "sudi_unverified: no sudi-root anchor configured");
    // Unverified, its names are the phone's own claim: not checked.
    const auto self_made = make_cert(CertSpec("CP-8845-SEP00AABBCCDDEE"), named_key("sudi-leaf"));
    const auto other = verify_without_sudi_roots(mic_with(test::sudi_proof(self_made, session_id)));
    REQUIRE(other.ok());
    CHECK(other.verified->sudi == SudiEvidence::unverified);
}

TEST_CASE("with no sudi-root anchor, a SUDI whose proof fails is still bad_sudi_proof") {
    const auto sudi = sudi_for(CertSpec("CP-8845-SEP001122334455"), world().sudi_ca);
    auto proof = test::sudi_proof(sudi, session_id);
    proof.sha2_signature[proof.sha2_signature.size() / 2] ^= 0x01;
    CHECK(verify_without_sudi_roots(mic_with(proof)).failure == AuthFailure::bad_sudi_proof);
    CHECK(verify_without_sudi_roots(mic_with(test::sudi_proof(sudi, session_id + 1))).failure ==
          AuthFailure::bad_sudi_proof);
    auto garbage = test::sudi_proof(sudi, session_id);
    garbage.certificate_der.resize(garbage.certificate_der.size() / 2);
    CHECK(verify_without_sudi_roots(mic_with(garbage)).failure == AuthFailure::bad_sudi_proof);
}

TEST_CASE("with no sudi-root anchor, require_sudi keeps the strict rules") {
    const auto sudi = sudi_for(CertSpec("CP-8845-SEP001122334455"), world().sudi_ca);
    const auto v =
        verify_without_sudi_roots(mic_with(test::sudi_proof(sudi, session_id)), sudi_required());
    INFO(v.detail);
    CHECK(v.failure == AuthFailure::sudi_untrusted);
    CHECK(verify_without_sudi_roots(mic_with(std::nullopt), sudi_required()).failure ==
          AuthFailure::sudi_missing);
    // Without a SUDI and without the requirement, nothing changes.
    const auto plain = verify_without_sudi_roots(mic_with(std::nullopt));
    REQUIRE(plain.ok());
    CHECK(plain.verified->sudi == SudiEvidence::absent);
}

}  // namespace sudi_test_cases
