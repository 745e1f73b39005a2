// reload_trust and anchor_source: the trust store built from the issuer,
// the configured files and the anchors in the database (CTest fixture).
#include <botan/pkix_types.h>

#include <catch2/catch.hpp>
#include <set>
#include <string>

#include "ca/error.hpp"
#include "ca/fingerprint.hpp"
#include "ca/trust_store.hpp"
#include "capf/service/trust_loader.hpp"
#include "storage/error.hpp"
#include "storage/trust_anchor_repository.hpp"
#include "tests/ca/ca_test_support.hpp"
#include "tests/storage/pg_test_support.hpp"

// The file's own namespace: the suite is compiled in unity batches, and its
// file-local names must not meet another file's.
namespace service_trust_test_cases {

using namespace capf;

namespace {

constexpr ca::KeySpec ec_ca{ca::KeySpec::Algorithm::ec, 256};  // quick to make

struct Material {
    ca::Identity issuer = test::make_ca("CAPF-issuer", 3650, ec_ca);
    ca::Identity retired = test::make_ca("CAPF-retired", 3650, ec_ca);
    ca::Identity mic_root = test::make_ca("Manufacturing Root", 3650, ec_ca);
    ca::Identity admin_mic = test::make_ca("Admin MIC Root", 3650, ec_ca);
    ca::Identity admin_lsc = test::make_ca("Admin LSC Issuer", 3650, ec_ca);
};

const Material& material() {
    static const auto* m = new Material();  // never destroyed: see phone_key()
    return *m;
}

std::string fingerprint(const ca::Identity& id) {
    return ca::sha256_hex(id.certificate().BER_encode());
}

std::set<std::string> fingerprints(const ca::TrustStore& trust, ca::TrustRole role) {
    std::set<std::string> out;
    for (const auto& a : trust.list(role))
        out.insert(a.sha256_hex);
    return out;
}

storage::StoredTrustAnchor stored(const std::string& role, const ca::Identity& id) {
    const auto der = id.certificate().BER_encode();
    return storage::StoredTrustAnchor{role,
                                      ca::sha256_hex(der),
                                      storage::Bytes(der.begin(), der.end()),
                                      id.certificate().subject_dn().to_string(),
                                      "uid 0 pid 1",
                                      std::nullopt};
}

/// A configuration naming the retired issuer and the manufacturing root.
struct ConfiguredFiles {
    test::TempDir dir;
    Config config;
    ConfiguredFiles() {
        test::write_text(dir / "retired.pem", material().retired.certificate().PEM_encode());
        const auto der = material().mic_root.certificate().BER_encode();
        test::write_bytes(dir / "mic.der", std::vector<std::uint8_t>(der.begin(), der.end()));
        config.trust.lsc_issuers = {dir / "retired.pem"};
        config.trust.mic_roots = {dir / "mic.der"};
    }
};

}  // namespace

TEST_CASE("service: reload_trust loads the issuer, configured files and database anchors") {
    const auto& m = material();
    test::TestDatabase db;
    storage::TrustAnchorRepository anchors(*db.pool);

    // The issuer alone.
    ca::TrustStore trust;
    reload_trust(trust, Config{}, m.issuer, anchors);
    CHECK(fingerprints(trust, ca::TrustRole::lsc_issuer) == std::set{fingerprint(m.issuer)});
    CHECK(trust.list(ca::TrustRole::mic_root).empty());

    // Configured files, by role.
    ConfiguredFiles files;
    reload_trust(trust, files.config, m.issuer, anchors);
    CHECK(fingerprints(trust, ca::TrustRole::lsc_issuer) ==
          std::set{fingerprint(m.issuer), fingerprint(m.retired)});
    CHECK(fingerprints(trust, ca::TrustRole::mic_root) == std::set{fingerprint(m.mic_root)});

    // Anchors an administrator added, each with its role.
    anchors.add(stored("mic-root", m.admin_mic));
    anchors.add(stored("lsc-issuer", m.admin_lsc));
    reload_trust(trust, files.config, m.issuer, anchors);
    CHECK(fingerprints(trust, ca::TrustRole::lsc_issuer) ==
          std::set{fingerprint(m.issuer), fingerprint(m.retired), fingerprint(m.admin_lsc)});
    CHECK(fingerprints(trust, ca::TrustRole::mic_root) ==
          std::set{fingerprint(m.mic_root), fingerprint(m.admin_mic)});

    // Removed from the database: gone at the next reload.
    anchors.remove("mic-root", fingerprint(m.admin_mic), "uid 0 pid 2");
    reload_trust(trust, files.config, m.issuer, anchors);
    CHECK(fingerprints(trust, ca::TrustRole::mic_root) == std::set{fingerprint(m.mic_root)});
    CHECK(fingerprints(trust, ca::TrustRole::lsc_issuer).contains(fingerprint(m.admin_lsc)));
}

TEST_CASE("service: a database anchor that no longer parses is skipped, the rest load") {
    const auto& m = material();
    test::TestDatabase db;
    storage::TrustAnchorRepository anchors(*db.pool);
    anchors.add(storage::StoredTrustAnchor{"mic-root", std::string(64, 'e'),
                                           storage::Bytes{0x30, 0x03, 0x02, 0x01, 0x01},
                                           "CN=Broken", "uid 0 pid 1", std::nullopt});
    anchors.add(stored("mic-root", m.admin_mic));
    ca::TrustStore trust;
    reload_trust(trust, Config{}, m.issuer, anchors);
    CHECK(fingerprints(trust, ca::TrustRole::mic_root) == std::set{fingerprint(m.admin_mic)});
    CHECK(fingerprints(trust, ca::TrustRole::lsc_issuer) == std::set{fingerprint(m.issuer)});
}

TEST_CASE("service: an unreadable configured file throws and leaves the old anchors") {
    const auto& m = material();
    test::TestDatabase db;
    storage::TrustAnchorRepository anchors(*db.pool);
    anchors.add(stored("lsc-issuer", m.admin_lsc));
    ConfiguredFiles files;
    ca::TrustStore trust;
    reload_trust(trust, files.config, m.issuer, anchors);
    const auto lsc_before = fingerprints(trust, ca::TrustRole::lsc_issuer);
    const auto mic_before = fingerprints(trust, ca::TrustRole::mic_root);
    REQUIRE(lsc_before.size() == 3);
    REQUIRE(mic_before.size() == 1);

    SECTION("a missing file") {
        auto config = files.config;
        config.trust.mic_roots.push_back(files.dir / "missing.pem");
        CHECK_THROWS_AS(reload_trust(trust, config, m.issuer, anchors), ca::CaError);
    }
    SECTION("a file that is not a certificate") {
        test::write_text(files.dir / "junk.pem", "not a certificate\n");
        auto config = files.config;
        config.trust.lsc_issuers.push_back(files.dir / "junk.pem");
        try {
            reload_trust(trust, config, m.issuer, anchors);
            FAIL("junk accepted");
        } catch (const ca::CaError& e) {
            CHECK(e.code() == ca::CaErrc::file_unreadable);
            CHECK_THAT(std::string(e.what()), Catch::Contains("junk.pem"));
        }
    }
    SECTION("a configured file removed since the last load") {
        std::filesystem::remove(files.dir / "mic.der");
        CHECK_THROWS_AS(reload_trust(trust, files.config, m.issuer, anchors), ca::CaError);
    }
    CHECK(fingerprints(trust, ca::TrustRole::lsc_issuer) == lsc_before);
    CHECK(fingerprints(trust, ca::TrustRole::mic_root) == mic_before);
}

TEST_CASE("service: an unreachable database throws StorageError and leaves the old anchors") {
    const auto& m = material();
    ConfiguredFiles files;
    ca::TrustStore trust;
    trust.add(ca::TrustRole::lsc_issuer, m.admin_lsc.certificate());
    trust.add(ca::TrustRole::mic_root, m.admin_mic.certificate());

    storage::PoolOptions options;
    options.connection_string = "host=127.0.0.1 port=1 dbname=capf user=capf";
    options.size = 1;
    options.connect_timeout_seconds = 1;
    storage::ConnectionPool pool(options);
    storage::TrustAnchorRepository anchors(pool);
    CHECK(test::storage_error_of([&] { reload_trust(trust, files.config, m.issuer, anchors); }) ==
          storage::StorageErrc::unreachable);
    CHECK(fingerprints(trust, ca::TrustRole::lsc_issuer) == std::set{fingerprint(m.admin_lsc)});
    CHECK(fingerprints(trust, ca::TrustRole::mic_root) == std::set{fingerprint(m.admin_mic)});
}

TEST_CASE("service: anchor_source says issuer, config or admin") {
    const auto& m = material();
    test::TestDatabase db;
    storage::TrustAnchorRepository anchors(*db.pool);
    anchors.add(stored("mic-root", m.admin_mic));
    anchors.add(stored("lsc-issuer", m.admin_lsc));
    const auto list = anchors.list();

    CHECK(anchor_source(fingerprint(m.issuer), m.issuer, list) == AnchorSource::issuer);
    CHECK(anchor_source(fingerprint(m.retired), m.issuer, list) == AnchorSource::config_file);
    CHECK(anchor_source(fingerprint(m.mic_root), m.issuer, list) == AnchorSource::config_file);
    CHECK(anchor_source(fingerprint(m.admin_mic), m.issuer, list) == AnchorSource::admin);
    CHECK(anchor_source(fingerprint(m.admin_lsc), m.issuer, list) == AnchorSource::admin);
    // The issuer stays the issuer even when an administrator also stored it.
    anchors.add(stored("lsc-issuer", m.issuer));
    CHECK(anchor_source(fingerprint(m.issuer), m.issuer, anchors.list()) == AnchorSource::issuer);
    // With nothing stored, an anchor not the issuer's came from a file.
    CHECK(anchor_source(fingerprint(m.admin_mic), m.issuer, {}) == AnchorSource::config_file);

    CHECK(anchor_source_name(AnchorSource::issuer) == "issuer");
    CHECK(anchor_source_name(AnchorSource::config_file) == "config");
    CHECK(anchor_source_name(AnchorSource::admin) == "admin");

    // Every anchor of a loaded store has the source it was loaded from.
    ConfiguredFiles files;
    ca::TrustStore trust;
    reload_trust(trust, files.config, m.issuer, anchors);
    for (const auto role : {ca::TrustRole::lsc_issuer, ca::TrustRole::mic_root}) {
        for (const auto& a : trust.list(role)) {
            INFO(a.subject);
            const auto expected = a.sha256_hex == fingerprint(m.issuer) ? AnchorSource::issuer
                                  : (a.sha256_hex == fingerprint(m.retired) ||
                                     a.sha256_hex == fingerprint(m.mic_root))
                                      ? AnchorSource::config_file
                                      : AnchorSource::admin;
            CHECK(anchor_source(a.sha256_hex, m.issuer, anchors.list()) == expected);
        }
    }
}

}  // namespace service_trust_test_cases
