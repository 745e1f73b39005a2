// The TVS store of trusted certificates against a real PostgreSQL: adding,
// listing, removal by hash, prefixes, the change counter every node polls,
// each node's own certificates, and the audit trail.
#include "storage/trusted_certificates.hpp"

#include <catch2/catch.hpp>
#include <pqxx/pqxx>

#include "storage/error.hpp"
#include "tests/storage/pg_test_support.hpp"
#include "tests/storage/repositories.hpp"

// The file's own namespace: the suite is compiled in unity batches, and its
// file-local names must not meet another file's.
namespace trusted_certificates_test_cases {

using namespace capf;
using namespace capf::storage;
using namespace std::chrono_literals;

namespace {

constexpr std::uint16_t sast = 0, ccm = 1, tftp = 3, capf_role = 4, tvs = 21;

/// A stored certificate whose hash is `hash` (storage does not check the
/// DER against it): 64 hex digits starting with the given ones.
TrustedCertificate cert(const std::string& hash_start, std::vector<std::uint16_t> roles,
                        std::chrono::seconds ttl = 3600s) {
    TrustedCertificate c;
    c.sha256_hex = hash_start + std::string(64 - hash_start.size(), '0');
    c.der = Bytes{0x30, 0x03, 0x02, 0x01, 0x01};
    c.subject = "CN=Test " + hash_start;
    c.issuer = "CN=Test Issuer";
    c.serial_hex = "0a";
    c.roles = std::move(roles);
    c.ttl = ttl;
    c.not_after = std::chrono::system_clock::now() + 24h;
    return c;
}

std::vector<AuditEvent> tvs_events(test::Repositories& repo) {
    std::vector<AuditEvent> out;
    for (auto& e : repo.audit.audit_events(AuditQuery{"", std::nullopt, 100})) {
        if (e.event == "tvs_certificate")
            out.push_back(e);
    }
    return out;
}

}  // namespace

TEST_CASE("storage: trusted certificates are added, updated by hash, listed by role, removed") {
    test::TestDatabase db;
    TrustedCertificateRepository store(*db.pool);
    CHECK(store.add(cert("aa", {tftp}), "uid 0 pid 1") == TrustedCertificateChange::added);
    CHECK(store.add(cert("bb", {capf_role, sast, sast}), "uid 0 pid 1") ==
          TrustedCertificateChange::added);
    // The same hash again: its roles and TTL are replaced, not a second row.
    CHECK(store.add(cert("aa", {ccm, tftp}, 60s), "uid 0 pid 2") ==
          TrustedCertificateChange::updated);
    CHECK(store.add(cert("aa", {tftp, ccm}, 60s), "uid 0 pid 2") ==
          TrustedCertificateChange::unchanged);

    const auto all = store.list();
    REQUIRE(all.size() == 2);
    CHECK(all[0].sha256_hex == cert("aa", {}).sha256_hex);
    CHECK(all[0].roles == std::vector<std::uint16_t>{ccm, tftp});
    CHECK(all[0].ttl == 60s);
    CHECK(all[0].der == Bytes{0x30, 0x03, 0x02, 0x01, 0x01});
    CHECK(all[0].subject == "CN=Test aa");
    CHECK(all[0].issuer == "CN=Test Issuer");
    CHECK(all[0].serial_hex == "0a");
    CHECK(all[0].added_by == "uid 0 pid 1");
    CHECK(all[0].added_at.has_value());
    CHECK_FALSE(all[0].automatic);
    CHECK(all[0].node.empty());
    CHECK(all[1].roles == std::vector<std::uint16_t>{sast, capf_role});  // sorted, once each
    const auto when = std::chrono::system_clock::now() + 24h;
    CHECK(all[1].not_after > when - 1min);
    CHECK(all[1].not_after < when + 1min);

    CHECK(store.list(tftp).size() == 1);
    CHECK(store.list(sast).front().sha256_hex == cert("bb", {}).sha256_hex);
    CHECK(store.list(tvs).empty());

    const auto removed = store.remove(cert("aa", {}).sha256_hex, "uid 0 pid 3");
    CHECK(removed.subject == "CN=Test aa");
    CHECK(store.list().size() == 1);
    CHECK(test::storage_error_of([&] { store.remove(cert("aa", {}).sha256_hex, "x"); }) ==
          StorageErrc::not_found);
}

TEST_CASE("storage: trusted certificates refuse what TVS cannot answer with") {
    test::TestDatabase db;
    TrustedCertificateRepository store(*db.pool);
    CHECK(test::storage_error_of([&] { store.add(cert("aa", {}), "x"); }) ==
          StorageErrc::invalid_value);
    CHECK(test::storage_error_of([&] { store.add(cert("aa", {5}), "x"); }) ==
          StorageErrc::invalid_value);
    CHECK(test::storage_error_of([&] { store.add(cert("aa", {tftp}, 0s), "x"); }) ==
          StorageErrc::invalid_value);
    CHECK(test::storage_error_of([&] { store.add(cert("AA", {tftp}), "x"); }) ==
          StorageErrc::invalid_value);
    // One bad certificate of several: nothing is added.
    CHECK(test::storage_error_of([&] {
              store.add_all({cert("aa", {tftp}), cert("bb", {99})}, "x");
          }) == StorageErrc::invalid_value);
    CHECK(store.list().empty());
    CHECK(store.version() == 0);
}

TEST_CASE("storage: a hash prefix finds every match, in any case, and nothing else") {
    test::TestDatabase db;
    TrustedCertificateRepository store(*db.pool);
    store.add_all({cert("ab12", {tftp}), cert("ab34", {tftp}), cert("cd", {tftp})}, "x");
    CHECK(store.find_by_prefix("AB").size() == 2);  // ambiguous: the caller lists both
    const auto one = store.find_by_prefix("aB3");
    REQUIRE(one.size() == 1);
    CHECK(one[0].sha256_hex == cert("ab34", {}).sha256_hex);
    CHECK(store.find_by_prefix(cert("cd", {}).sha256_hex).size() == 1);
    CHECK(store.find_by_prefix("ef").empty());
    for (const std::string& bad :
         std::vector<std::string>{"", "a%", "a_", "zz", std::string(65, 'a')}) {
        INFO("prefix '" << bad << "'");
        CHECK(test::storage_error_of([&] { store.find_by_prefix(bad); }) ==
              StorageErrc::invalid_value);
    }
}

TEST_CASE("storage: the trusted-certificate version moves with every change and only then") {
    test::TestDatabase db;
    TrustedCertificateRepository store(*db.pool);
    std::int64_t seen = store.version();
    CHECK(seen == 0);
    const auto moved = [&] {
        const auto now = store.version();
        const bool did = now > seen;
        seen = now;
        return did;
    };
    store.add(cert("aa", {tftp}), "x");
    CHECK(moved());
    store.add(cert("aa", {tftp, ccm}), "x");
    CHECK(moved());
    store.add(cert("aa", {ccm, tftp}), "x");  // the same roles and TTL
    CHECK_FALSE(moved());
    store.replace_automatic("node-a", {cert("bb", {capf_role})});
    CHECK(moved());
    store.replace_automatic("node-a", {cert("bb", {capf_role})});
    CHECK_FALSE(moved());
    store.remove(cert("aa", {}).sha256_hex, "x");
    CHECK(moved());
    CHECK_THROWS(store.remove(cert("aa", {}).sha256_hex, "x"));
    CHECK_FALSE(moved());
    // A change made outside the repository moves it too (the trigger).
    pqxx::connection direct(db.conninfo());
    pqxx::work txn(direct);
    txn.exec0("UPDATE trusted_certificates SET ttl_seconds = 7");
    txn.commit();
    CHECK(moved());

    const auto snapshot = store.load_all();
    CHECK(snapshot.version == seen);
    REQUIRE(snapshot.certificates.size() == 1);
    CHECK(snapshot.certificates[0].ttl == 7s);
}

TEST_CASE("storage: a change to trusted certificates notifies trusted_certificates_changed") {
    test::TestDatabase db;
    TrustedCertificateRepository store(*db.pool);
    pqxx::connection listener(db.conninfo());
    struct Receiver : pqxx::notification_receiver {
        using pqxx::notification_receiver::notification_receiver;
        std::vector<std::string> payloads;
        void operator()(const std::string& payload, int) override { payloads.push_back(payload); }
    } receiver(listener, "trusted_certificates_changed");
    listener.get_notifs();
    store.add(cert("aa", {tftp}), "x");
    for (int i = 0; i < 50 && receiver.payloads.empty(); ++i)
        listener.await_notification(0, 100'000);
    REQUIRE(receiver.payloads.size() == 1);
    CHECK(receiver.payloads[0] == std::to_string(store.version()));
}

TEST_CASE("storage: each node keeps exactly its own automatic certificates") {
    test::TestDatabase db;
    TrustedCertificateRepository store(*db.pool);
    store.add(cert("ee", {tftp}), "uid 0 pid 1");  // an operator's
    // The TFTP certificate twice (SAST and TFTP) is one row with both roles.
    CHECK(store.replace_automatic(
        "node-a", {cert("a1", {capf_role}), cert("a2", {sast}), cert("a2", {tftp})}));
    CHECK(store.replace_automatic("node-b", {cert("b1", {tvs})}));
    CHECK_FALSE(store.replace_automatic(
        "node-a", {cert("a2", {tftp}), cert("a1", {capf_role}), cert("a2", {sast})}));

    auto a = store.find_by_prefix("a2");
    REQUIRE(a.size() == 1);
    CHECK(a[0].automatic);
    CHECK(a[0].node == "node-a");
    CHECK(a[0].added_by == "node-a");
    CHECK(a[0].roles == std::vector<std::uint16_t>{sast, tftp});
    CHECK(store.list().size() == 4);

    // node-a's CAPF certificate changed: the old one goes, node-b's and the
    // operator's stay.
    CHECK(store.replace_automatic("node-a", {cert("a3", {capf_role}), cert("a2", {sast, tftp})}));
    CHECK(store.find_by_prefix("a1").empty());
    CHECK(store.find_by_prefix("a3").size() == 1);
    CHECK(store.find_by_prefix("b1").size() == 1);
    CHECK(store.find_by_prefix("ee").size() == 1);
    // A node with none left keeps none.
    CHECK(store.replace_automatic("node-b", {}));
    CHECK(store.find_by_prefix("b1").empty());

    // An operator can neither remove nor re-role a node's own certificate;
    // an import that holds one leaves it as the node keeps it.
    CHECK(test::storage_error_of([&] { store.remove(cert("a3", {}).sha256_hex, "uid 0 pid 1"); }) ==
          StorageErrc::conflict);
    CHECK(test::storage_error_of([&] { store.add(cert("a3", {ccm}), "uid 0 pid 1"); }) ==
          StorageErrc::conflict);
    const auto imported = store.add_all({cert("a3", {ccm}), cert("ff", {ccm})}, "uid 0 pid 1");
    REQUIRE(imported.size() == 2);
    CHECK(imported[0].second == TrustedCertificateChange::kept_automatic);
    CHECK(imported[1].second == TrustedCertificateChange::added);
    CHECK(store.find_by_prefix("a3")[0].roles == std::vector<std::uint16_t>{capf_role});

    // A node that takes an operator's certificate as its own owns it then.
    CHECK(store.replace_automatic("node-b", {cert("ee", {tvs})}));
    const auto taken = store.find_by_prefix("ee");
    CHECK(taken[0].automatic);
    CHECK(taken[0].node == "node-b");
    CHECK(test::storage_error_of([&] { store.replace_automatic("", {}); }) ==
          StorageErrc::invalid_value);
}

TEST_CASE("storage: every change of trusted certificates is audited with its actor") {
    test::TestDatabase db;
    TrustedCertificateRepository store(*db.pool);
    test::Repositories repo(*db.pool);
    store.add(cert("aa", {tftp}), "uid 0 pid 1");
    store.add(cert("aa", {tftp, tvs}), "uid 0 pid 2");
    store.add(cert("aa", {tftp, tvs}), "uid 0 pid 2");  // unchanged: not an event
    store.remove(cert("aa", {}).sha256_hex, "uid 1001 pid 3");
    store.replace_automatic("node-a", {cert("bb", {capf_role})});
    store.replace_automatic("node-a", {});

    const auto events = tvs_events(repo);  // newest first
    REQUIRE(events.size() == 5);
    CHECK(events[0].outcome == "automatic_removed");
    CHECK(events[0].node == "node-a");
    CHECK(events[1].outcome == "automatic_added");
    CHECK(events[1].node == "node-a");
    CHECK(events[2].outcome == "removed");
    CHECK(events[2].peer == "uid 1001 pid 3");
    CHECK(events[3].outcome == "updated");
    CHECK(events[3].peer == "uid 0 pid 2");
    CHECK(events[3].detail == cert("aa", {}).sha256_hex + " roles 3,21 ttl 3600s CN=Test aa");
    CHECK(events[4].outcome == "added");
    CHECK(events[4].peer == "uid 0 pid 1");
}

}  // namespace trusted_certificates_test_cases
