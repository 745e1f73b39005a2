// The CTL (issue 34, protocol/README.md section 10) and the rollback ITL
// ("Rollback ITL"): what the encryptors write, read back with
// protocol::parse_trust_list and checked with ca::verify_signed_file, and
// the refusal of a CTL that no SAST of the published one signs.
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "ca/identity.hpp"
#include "ca/tftp_files.hpp"
#include "capf/common/atomic_file.hpp"
#include "capf/common/config.hpp"
#include "capf/tftp/ctl_encryptor.hpp"
#include "capf/tftp/encryptor.hpp"
#include "capf/tftp/identity_source.hpp"
#include "capf/tftp/itl_encryptor.hpp"
#include "protocol/signed_file.hpp"
#include "tests/capf/tftp/tftp_test_identity.hpp"

// The file's own namespace: the suite is compiled in unity batches.
namespace tftp_ctl_test_cases {

namespace fs = std::filesystem;
using namespace capf;
using protocol::ItlRole;
using test::identity;
using test::read_file;

namespace {

struct CtlFixture {
    fs::path dir;
    fs::path tftp;
    std::shared_ptr<tftp::IdentitySource> tftp_identity =
        std::make_shared<tftp::IdentitySource>(identity("TFTP-ctl"));
    const Botan::X509_Certificate capf = identity("CAPF-ctl").certificate();

    CtlFixture() {
        char tmpl[] = "/tmp/capf-tftp-ctl-XXXXXX";
        REQUIRE(::mkdtemp(tmpl) != nullptr);
        dir = tmpl;
        tftp = dir / "tftp";
        fs::create_directories(tftp);
        install("sast1", identity("SAST1"));
        install("sast2", identity("SAST2"));
    }
    ~CtlFixture() { fs::remove_all(dir); }

    /// Puts `id` in the files of the SAST `name` ("sast1", "sast2").
    void install(const std::string& name, const ca::Identity& id) const {
        ca::write_identity(id, dir / (name + ".crt"), dir / (name + ".key"));
    }
    CtlEncryptorConfig settings(CtlEncryptorConfig::Signer signer) const {
        CtlEncryptorConfig c;
        c.sast1 = {dir / "sast1.crt", dir / "sast1.key", {}, {}};
        c.sast2 = {dir / "sast2.crt", dir / "sast2.key", {}, {}};
        c.signer = signer;
        return c;
    }
    tftp::CtlEncryptor encryptor(
        CtlEncryptorConfig::Signer signer = CtlEncryptorConfig::Signer::sast1) const {
        return tftp::CtlEncryptor(settings(signer), tftp, tftp_identity, capf);
    }
    fs::path ctl() const { return tftp / "CTLFile.tlv"; }
};

std::vector<std::pair<ItlRole, Botan::X509_Certificate>> records_of(
    const std::vector<std::uint8_t>& file) {
    std::vector<std::pair<ItlRole, Botan::X509_Certificate>> out;
    for (const auto& r : protocol::parse_trust_list(file).records)
        out.emplace_back(r.role, Botan::X509_Certificate(r.certificate_der));
    return out;
}

}  // namespace

TEST_CASE("ctl: SAST1, SAST2, TFTP, CAPF in order, CTLFile.tlv, signed by SAST1") {
    const CtlFixture f;
    auto ctl = f.encryptor();
    ctl.identities_changed();
    const auto file = read_file(f.ctl());
    const auto list = protocol::parse_trust_list(file);
    CHECK(list.header.file_name == "CTLFile.tlv");
    CHECK(list.header.signer.signer_name == "CN=SAST1");
    const auto records = records_of(file);
    REQUIRE(records.size() == 4);
    CHECK(records[0] == std::pair{ItlRole::sast, identity("SAST1").certificate()});
    CHECK(records[1] == std::pair{ItlRole::sast, identity("SAST2").certificate()});
    CHECK(records[2] == std::pair{ItlRole::tftp, identity("TFTP-ctl").certificate()});
    CHECK(records[3] == std::pair{ItlRole::capf, f.capf});
    CHECK(protocol::signer_record(list) == std::optional<std::size_t>{0});
    CHECK(ca::verify_signed_file(file, identity("SAST1").certificate()));
    CHECK_FALSE(ca::verify_signed_file(file, identity("SAST2").certificate()));
    CHECK_FALSE(ca::verify_signed_file(file, identity("TFTP-ctl").certificate()));
}

TEST_CASE("ctl: signer sast2 signs with SAST2, and phones holding the SAST1 CTL accept it") {
    const CtlFixture f;
    f.encryptor().identities_changed();
    auto second = f.encryptor(CtlEncryptorConfig::Signer::sast2);
    REQUIRE(second.publish(tftp::LeaseGuard::unlimited(), false).published);
    const auto file = read_file(f.ctl());
    CHECK(ca::verify_signed_file(file, identity("SAST2").certificate()));
    CHECK_FALSE(ca::verify_signed_file(file, identity("SAST1").certificate()));
    const auto list = protocol::parse_trust_list(file);
    CHECK(protocol::signer_record(list) == std::optional<std::size_t>{1});
    CHECK(records_of(file).size() == 4);
    CHECK(second.describe_published()["signer"]["sast"] == "sast2");
}

TEST_CASE(
    "ctl: a CTL no SAST of the published one signs is refused, the file kept, "
    "allow_new_signer publishes it") {
    const CtlFixture f;
    f.encryptor().identities_changed();  // signed by SAST-A (SAST1)
    const auto published = read_file(f.ctl());
    f.install("sast1", identity("SAST-C"));  // a key the published CTL does not hold
    auto ctl = f.encryptor();
    const auto refused = ctl.publish(tftp::LeaseGuard::unlimited(), false);
    CHECK_FALSE(refused.published);
    CHECK_THAT(refused.refusal, Catch::Contains("CN=SAST-C") && Catch::Contains("CN=SAST1") &&
                                    Catch::Contains("--allow-new-signer"));
    CHECK(read_file(f.ctl()) == published);
    CHECK(ctl.signer_refusals() == 1);
    ctl.identities_changed();  // SIGHUP: refused too, not thrown
    CHECK(ctl.signer_refusals() == 2);
    CHECK(read_file(f.ctl()) == published);

    const auto forced = ctl.publish(tftp::LeaseGuard::unlimited(), true);
    CHECK(forced.published);
    const auto file = read_file(f.ctl());
    CHECK(ca::verify_signed_file(file, identity("SAST-C").certificate()));
    CHECK(records_of(file)[0].second == identity("SAST-C").certificate());
    // From now on SAST-C is a SAST the phones hold.
    CHECK(ctl.publish(tftp::LeaseGuard::unlimited(), false).published);
}

TEST_CASE("ctl: the spare SAST2 signing is accepted without an override") {
    const CtlFixture f;
    f.encryptor().identities_changed();
    f.install("sast1", identity("SAST-C"));  // SAST1 lost and replaced...
    // ...so SAST2, which the published CTL holds, signs the CTL that lists the new SAST1.
    auto ctl = f.encryptor(CtlEncryptorConfig::Signer::sast2);
    CHECK(ctl.publish(tftp::LeaseGuard::unlimited(), false).published);
    CHECK(records_of(read_file(f.ctl()))[0].second == identity("SAST-C").certificate());
}

TEST_CASE("ctl: SAST1 and SAST2 of one key, or an EC SAST, are refused at start") {
    const CtlFixture f;
    f.install("sast2", identity("SAST1"));
    CHECK_THROWS_WITH(f.encryptor(), Catch::Contains("hold the same key"));
    f.install("sast2",
              identity("SAST-EC", {ca::KeySpec::Algorithm::ec, 256}, ca::IdentityRole::capf));
    CHECK_THROWS_WITH(f.encryptor(), Catch::Contains("RSA only"));
    fs::remove(f.dir / "sast2.crt");
    CHECK_THROWS_WITH(f.encryptor(), Catch::Contains("capfd init --sast"));
}

TEST_CASE("ctl: show lists the records and the signer and checks the signature") {
    const CtlFixture f;
    auto ctl = f.encryptor();
    CHECK_THROWS_WITH(ctl.describe_published(), Catch::Contains("no CTL published yet"));
    ctl.identities_changed();
    const auto shown = ctl.describe_published();
    CHECK(shown["signature_valid"] == true);
    CHECK(shown["signer"]["sast"] == "sast1");
    CHECK(shown["signer"]["record"] == 0);
    REQUIRE(shown["records"].size() == 4);
    CHECK(shown["records"][1]["role"] == "sast");
    CHECK(shown["records"][1]["subject"] == "CN=SAST2");
    CHECK(shown["records"][2]["role"] == "tftp");
    CHECK(shown["records"][3]["role"] == "capf");
    CHECK(shown["records"][3]["sha256"].get<std::string>().size() == 64);
    // One signed byte changed (the last of the CAPF certificate's DER, opaque
    // to the parser): it no longer verifies.
    auto bytes = read_file(f.ctl());
    bytes.back() ^= 0x01;
    write_file_atomically(f.ctl(), bytes);
    CHECK(ctl.describe_published()["signature_valid"] == false);
}

TEST_CASE("ctl: per_device writes CTL<device>.tlv, the published bytes, removal removes it") {
    const CtlFixture f;
    CtlEncryptorConfig settings = f.settings(CtlEncryptorConfig::Signer::sast1);
    settings.per_device = true;
    tftp::CtlEncryptor ctl(settings, f.tftp, f.tftp_identity, f.capf);
    CHECK(ctl.scope() == tftp::EncryptorScope::device);
    storage::DeviceFacts facts;
    facts.name = "SEP001122334455";
    ctl.deliver(facts, storage::DeliveryChange::installed, tftp::LeaseGuard::unlimited());
    const fs::path per_device = f.tftp / "CTLSEP001122334455.tlv";
    REQUIRE(fs::exists(per_device));
    CHECK(read_file(per_device) == read_file(f.ctl()));
    facts.removed = true;
    ctl.deliver(facts, storage::DeliveryChange::removed, tftp::LeaseGuard::unlimited());
    CHECK_FALSE(fs::exists(per_device));
    CHECK(fs::exists(f.ctl()));
}

TEST_CASE("itl: the rollback ITL holds the signer as SAST and CAPF, no TFTP and no TVS records") {
    const CtlFixture f;
    ca::write_identity(identity("TVS-x"), f.dir / "tvs.crt", f.dir / "tvs.key");
    ca::write_identity(identity("APP-x"), f.dir / "app.crt", f.dir / "app.key");
    ItlEncryptorConfig settings;
    settings.extra = {{f.dir / "tvs.crt", "tvs"},
                      {f.dir / "app.crt", "app-server"},
                      {f.dir / "app.crt", "ccm-tftp"}};
    tftp::ItlEncryptor itl(settings, f.tftp, f.tftp_identity, f.capf);
    const auto normal = records_of(itl.itl_bytes());
    REQUIRE(normal.size() == 6);

    CHECK(itl.set_stored_rollback(true));
    CHECK_FALSE(itl.set_stored_rollback(true));
    itl.identities_changed();
    const auto file = read_file(f.tftp / "ITLFile.tlv");
    CHECK(ca::verify_signed_file(file, identity("TFTP-ctl").certificate()));
    const auto records = records_of(file);
    REQUIRE(records.size() == 3);
    CHECK(records[0] == std::pair{ItlRole::sast, identity("TFTP-ctl").certificate()});
    CHECK(records[1] == std::pair{ItlRole::capf, f.capf});
    CHECK(records[2] == std::pair{ItlRole::app_server, identity("APP-x").certificate()});
    const auto list = protocol::parse_trust_list(file);
    CHECK(protocol::signer_record(list) == std::optional<std::size_t>{0});

    CHECK(itl.set_stored_rollback(false));
    CHECK(records_of(itl.itl_bytes()).size() == 6);
    // The configuration's rollback holds whatever the stored setting says.
    settings.rollback = true;
    tftp::ItlEncryptor configured(settings, f.tftp, f.tftp_identity, f.capf);
    CHECK(configured.rollback());
    CHECK_FALSE(configured.set_stored_rollback(false));
    CHECK(records_of(configured.itl_bytes()).size() == 3);
}

}  // namespace tftp_ctl_test_cases
