#include <botan/auto_rng.h>
#include <botan/ec_group.h>
#include <botan/ecdsa.h>
#include <botan/rsa.h>
#include <botan/x509_key.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>

#include "capf/tftp/enc_sgn_plan.hpp"
#include "capf/tftp/itl_roles.hpp"

// The file's own namespace: the suite is compiled in unity batches, and its
// file-local names must not meet another file's.
namespace tftp_enc_sgn_plan_test_cases {

namespace fs = std::filesystem;
using namespace capf::tftp;

namespace {

capf::storage::Bytes rsa_public_key() {
    static const capf::storage::Bytes der = [] {
        Botan::AutoSeeded_RNG rng;
        const Botan::RSA_PrivateKey key(rng, 1024);
        const auto v = Botan::X509::BER_encode(key);
        return capf::storage::Bytes(v.begin(), v.end());
    }();
    return der;
}

capf::storage::Bytes ec_public_key() {
    Botan::AutoSeeded_RNG rng;
    const Botan::ECDSA_PrivateKey key(rng, Botan::EC_Group("secp256r1"));
    const auto v = Botan::X509::BER_encode(key);
    return capf::storage::Bytes(v.begin(), v.end());
}

DeviceFacts facts_with(std::optional<capf::storage::Bytes> key) {
    DeviceFacts f;
    f.name = "SEP001122334455";
    f.md5_hex = "0123456789abcdef0123456789abcdef";
    f.public_key_der = std::move(key);
    f.key_spec = "rsa-1024";
    return f;
}

}  // namespace

TEST_CASE("enc-sgn plans both files for a device with an RSA key") {
    for (const auto change :
         {DeliveryChange::installed, DeliveryChange::fetched, DeliveryChange::requested}) {
        const EncSgnPlan plan =
            plan_enc_sgn(facts_with(rsa_public_key()), change, "/var/lib/prov/cnf", "/srv/tftp");
        CHECK(plan.device == "SEP001122334455");
        CHECK(plan.source == "/var/lib/prov/cnf/SEP001122334455.cnf.xml");
        CHECK(plan.encrypted_target == "/srv/tftp/SEP001122334455.cnf.xml.enc.sgn");
        CHECK(plan.partial_target == "/srv/tftp/SEP001122334455.cnf.xml.sgn");
        CHECK(plan.plaintext_in_tftp == "/srv/tftp/SEP001122334455.cnf.xml");
        CHECK(plan.encrypt);
        CHECK(plan.cert_hash == "0123456789abcdef0123456789abcdef");
    }
}

TEST_CASE("after a delete, or with no key on record, the certHash is empty and no .enc.sgn") {
    const EncSgnPlan deleted = plan_enc_sgn(facts_with(rsa_public_key()), DeliveryChange::deleted,
                                            "/var/lib/prov/cnf", "/srv/tftp");
    CHECK_FALSE(deleted.encrypt);
    CHECK(deleted.cert_hash.empty());
    auto no_key = facts_with(std::nullopt);
    no_key.md5_hex.clear();
    const EncSgnPlan keyless =
        plan_enc_sgn(no_key, DeliveryChange::installed, "/var/lib/prov/cnf", "/srv/tftp");
    CHECK_FALSE(keyless.encrypt);
    CHECK(keyless.cert_hash.empty());
    // A delete of an EC device is fine: nothing is encrypted for it.
    CHECK_NOTHROW(plan_enc_sgn(facts_with(ec_public_key()), DeliveryChange::deleted, "/a", "/b"));
}

TEST_CASE("a removed device and a revoked LSC withdraw both files, or sign the whole one") {
    DeviceFacts removed;
    removed.name = "SEP001122334455";
    removed.removed = true;
    for (const bool sign_plain : {false, true}) {
        for (const auto change : {DeliveryChange::removed, DeliveryChange::requested}) {
            const EncSgnPlan plan =
                plan_enc_sgn(removed, change, "/var/lib/prov/cnf", "/srv/tftp", sign_plain);
            CHECK(plan.signed_file == EncSgnPlan::Signed::withdrawn);
            CHECK_FALSE(plan.encrypt);
        }
    }
    // Revoked: the facts hold no key (they leave a revoked certificate out).
    auto revoked = facts_with(std::nullopt);
    revoked.md5_hex.clear();
    const EncSgnPlan withdrawn =
        plan_enc_sgn(revoked, DeliveryChange::revoked, "/var/lib/prov/cnf", "/srv/tftp");
    CHECK(withdrawn.signed_file == EncSgnPlan::Signed::withdrawn);
    CHECK_FALSE(withdrawn.encrypt);
    const EncSgnPlan whole =
        plan_enc_sgn(revoked, DeliveryChange::revoked, "/var/lib/prov/cnf", "/srv/tftp", true);
    CHECK(whole.signed_file == EncSgnPlan::Signed::whole);
    CHECK_FALSE(whole.encrypt);
    // A new LSC already in the facts: an ordinary change, whatever came before.
    const EncSgnPlan renewed = plan_enc_sgn(facts_with(rsa_public_key()), DeliveryChange::revoked,
                                            "/var/lib/prov/cnf", "/srv/tftp");
    CHECK(renewed.signed_file == EncSgnPlan::Signed::partial);
    CHECK(renewed.encrypt);
    // Other keyless changes keep the signed partial configuration.
    CHECK(plan_enc_sgn(revoked, DeliveryChange::deleted, "/a", "/b").signed_file ==
          EncSgnPlan::Signed::partial);
}

TEST_CASE("an EC device key is refused: the format wraps the AES key with RSA only") {
    CHECK_THROWS_WITH(plan_enc_sgn(facts_with(ec_public_key()), DeliveryChange::installed,
                                   "/var/lib/prov/cnf", "/srv/tftp"),
                      Catch::Contains("SEP001122334455") && Catch::Contains("ec-p256") &&
                          Catch::Contains("RSA only"));
    CHECK_THROWS_AS(plan_enc_sgn(facts_with(capf::storage::Bytes{0x30, 0x01, 0x00}),
                                 DeliveryChange::installed, "/a", "/b"),
                    EncryptorError);
}

TEST_CASE("a device name that would leave the directories is refused") {
    for (const char* name : {"", ".", "..", "../etc/passwd", "SEP/x"}) {
        INFO(name);
        auto f = facts_with(rsa_public_key());
        f.name = name;
        CHECK_THROWS_AS(plan_enc_sgn(f, DeliveryChange::installed, "/a", "/b"), EncryptorError);
    }
}

namespace {

/// The error `f` throws; fails the test when it throws none.
template <typename F>
EncryptorError encryptor_error_of(F&& f) {
    try {
        f();
    } catch (const EncryptorError& e) {
        return e;
    }
    FAIL("no EncryptorError thrown");
    return EncryptorError("none");
}

}  // namespace

// Issue 32: what cannot succeed until its cause changes says so, and why.
TEST_CASE("an EC key, a name that is no file name and a missing source are permanent failures") {
    const auto ec = encryptor_error_of(
        [] { plan_enc_sgn(facts_with(ec_public_key()), DeliveryChange::installed, "/a", "/b"); });
    CHECK(ec.code() == EncryptorErrc::permanent);
    CHECK(ec.cause() == ParkCause::key_not_rsa);
    CHECK(to_text(ec.cause()) == "key-not-rsa");
    auto badly_named = facts_with(rsa_public_key());
    badly_named.name = "..";
    const auto name = encryptor_error_of(
        [&] { plan_enc_sgn(badly_named, DeliveryChange::installed, "/a", "/b"); });
    CHECK(name.code() == EncryptorErrc::permanent);
    CHECK(name.cause() == ParkCause::invalid_device_name);
    // A key that does not parse is not known to be permanent: retried.
    const auto unreadable = encryptor_error_of([] {
        plan_enc_sgn(facts_with(capf::storage::Bytes{0x30, 0x01, 0x00}), DeliveryChange::installed,
                     "/a", "/b");
    });
    CHECK(unreadable.code() == EncryptorErrc::failed);
    const EncSgnPlan plan = plan_enc_sgn(facts_with(rsa_public_key()), DeliveryChange::installed,
                                         "/nonexistent/capf-cnf", "/srv/tftp");
    const auto missing = encryptor_error_of([&] { read_source_config(plan); });
    CHECK(missing.code() == EncryptorErrc::permanent);
    CHECK(missing.cause() == ParkCause::no_source_file);
}

TEST_CASE("a missing source configuration is an error naming the file and the directory") {
    std::string pattern = (fs::temp_directory_path() / "capf-encsgn-XXXXXX").string();
    REQUIRE(::mkdtemp(pattern.data()) != nullptr);
    const fs::path dir = pattern;
    const EncSgnPlan plan =
        plan_enc_sgn(facts_with(rsa_public_key()), DeliveryChange::installed, dir, "/srv/tftp");
    CHECK_THROWS_WITH(read_source_config(plan),
                      "enc-sgn: no SEP001122334455.cnf.xml in " + dir.string());
    std::ofstream(dir / "SEP001122334455.cnf.xml") << "<device/>";
    CHECK(read_source_config(plan) == "<device/>");
    fs::remove_all(dir);
}

TEST_CASE("ITL roles from the configuration map to their wire values") {
    using capf::protocol::ItlRole;
    CHECK(itl_role("ccm") == ItlRole::ccm);
    CHECK(itl_role("ccm-tftp") == ItlRole::ccm_tftp);
    CHECK(itl_role("tftp") == ItlRole::tftp);
    CHECK(itl_role("capf") == ItlRole::capf);
    CHECK(itl_role("app-server") == ItlRole::app_server);
    CHECK(itl_role("tvs") == ItlRole::tvs);
    CHECK_THROWS_WITH(itl_role("sast"), Catch::Contains("sast") && Catch::Contains("tvs"));
}

}  // namespace tftp_enc_sgn_plan_test_cases
