// Trust anchors in the database, bulk auth-string hashes and fleet counts,
// against a real PostgreSQL.
#include <catch2/catch.hpp>

#include "storage/cluster_settings.hpp"
#include "storage/error.hpp"
#include "storage/trust_anchor_repository.hpp"
#include "tests/storage/pg_test_support.hpp"
#include "tests/storage/repositories.hpp"

// The file's own namespace: the suite is compiled in unity batches, and its
// file-local names must not meet another file's.
namespace trust_and_stats_test_cases {

using namespace capf;
using namespace capf::storage;
using namespace std::chrono_literals;

namespace {

StoredTrustAnchor anchor(const std::string& role, char fill) {
    return StoredTrustAnchor{role,
                             std::string(64, fill),
                             Bytes{0x30, 0x03, 0x02, 0x01, 0x01},
                             "CN=Test Root " + std::string(1, fill),
                             "uid 0 pid 1",
                             std::nullopt};
}

}  // namespace

TEST_CASE("storage: trust anchors are added once per role, listed, removed, and audited") {
    test::TestDatabase db;
    TrustAnchorRepository anchors(*db.pool);
    test::Repositories repo(*db.pool);
    anchors.add(anchor("mic-root", 'a'));
    anchors.add(anchor("lsc-issuer", 'a'));  // the same certificate in another role
    anchors.add(anchor("mic-root", 'b'));
    CHECK(test::storage_error_of([&] { anchors.add(anchor("mic-root", 'a')); }) ==
          StorageErrc::already_exists);
    CHECK(test::storage_error_of([&] { anchors.add(anchor("manufacturer", 'c')); }) ==
          StorageErrc::invalid_value);
    CHECK(test::storage_error_of([&] { anchors.add(anchor("mic-root", 'Z')); }) ==
          StorageErrc::invalid_value);

    const auto mic = anchors.list("mic-root");
    REQUIRE(mic.size() == 2);
    CHECK(mic[0].sha256_hex == std::string(64, 'a'));
    CHECK(mic[0].der == Bytes{0x30, 0x03, 0x02, 0x01, 0x01});
    CHECK(mic[0].added_by == "uid 0 pid 1");
    CHECK(mic[0].added_at.has_value());
    CHECK(anchors.list().size() == 3);

    anchors.remove("mic-root", std::string(64, 'a'), "uid 0 pid 2");
    CHECK(anchors.list("mic-root").size() == 1);
    CHECK(anchors.list("lsc-issuer").size() == 1);
    CHECK(test::storage_error_of([&] { anchors.remove("mic-root", std::string(64, 'a'), ""); }) ==
          StorageErrc::not_found);

    const auto events = repo.audit.audit_events(AuditQuery{"", std::nullopt, 10});
    REQUIRE(events.size() == 4);  // three added, one removed
    CHECK(events[0].event == "trust_anchor");
    CHECK(events[0].outcome == "removed");
    CHECK(events[0].peer == "uid 0 pid 2");
}

TEST_CASE("storage: auth-string hashes are set in bulk, all or nothing") {
    test::TestDatabase db;
    test::Repositories repo(*db.pool);
    std::vector<DeviceSettings> devices;
    for (int i = 0; i < 3; ++i)
        devices.push_back(DeviceSettings{"SEP00000000000" + std::to_string(i), "",
                                         AuthMode::auth_string, "rsa-2048"});
    repo.devices.add_devices(devices, test::admin_actor);
    // Locked after one wrong attempt; a new string unlocks.
    repo.auth_strings.set_auth_string_hash("SEP000000000001", "old", test::admin_actor);
    REQUIRE(repo.auth_strings.begin_auth_string_attempt("SEP000000000001", 1).locked_now);
    repo.auth_strings.set_auth_string_hashes({{"SEP000000000000", "h0"}, {"sep000000000001", "h1"}},
                                             test::admin_actor);
    CHECK(repo.auth_strings.auth_string_hash("SEP000000000000") == "h0");
    CHECK(repo.auth_strings.auth_string_hash("SEP000000000001") == "h1");
    CHECK_FALSE(repo.devices.find_device("SEP000000000001")->auth_locked);
    CHECK_FALSE(repo.auth_strings.auth_string_hash("SEP000000000002").has_value());

    // One unknown device: nothing changes.
    try {
        repo.auth_strings.set_auth_string_hashes(
            {{"SEP000000000002", "h2"}, {"SEP0000DEADBEEF", "hx"}}, test::admin_actor);
        FAIL("accepted an unknown device");
    } catch (const StorageError& e) {
        CHECK(e.code() == StorageErrc::not_found);
        CHECK_THAT(std::string(e.what()), Catch::Contains("SEP0000DEADBEEF"));
    }
    CHECK_FALSE(repo.auth_strings.auth_string_hash("SEP000000000002").has_value());
    CHECK(
        test::storage_error_of([&] {
            repo.auth_strings.set_auth_string_hashes({{"SEP000000000002", ""}}, test::admin_actor);
        }) == StorageErrc::invalid_value);
    CHECK(test::storage_error_of([&] {
              repo.auth_strings.set_auth_string_hashes({{"bad name", "h"}}, test::admin_actor);
          }) == StorageErrc::invalid_device_name);
    repo.auth_strings.set_auth_string_hashes({}, test::admin_actor);  // nothing to do
}

TEST_CASE("storage: fleet counts and audit counts by event and outcome") {
    test::TestDatabase db;
    test::Repositories repo(*db.pool);
    const auto before = std::chrono::system_clock::now() - 1min;
    std::vector<DeviceSettings> devices;
    for (int i = 0; i < 5; ++i)
        devices.push_back(DeviceSettings{"SEP00000000001" + std::to_string(i), "",
                                         AuthMode::null_string, "rsa-2048"});
    repo.devices.add_devices(devices, test::admin_actor);
    repo.schedule.schedule_operation(
        "SEP000000000010", ScheduleRequest{Operation::install, {}, {}, {}}, test::admin_actor);
    repo.schedule.schedule_operation(
        "SEP000000000011", ScheduleRequest{Operation::install, {}, {}, {}}, test::admin_actor);
    repo.schedule.schedule_operation(
        "SEP000000000012", ScheduleRequest{Operation::fetch, {}, {}, {}}, test::admin_actor);
    repo.auth_strings.set_auth_string_hash("SEP000000000013", "h", test::admin_actor);
    REQUIRE(repo.claims.claim_pending_operation("SEP000000000010", "node-a", 60s).has_value());

    const auto s = repo.reports.fleet_stats();
    CHECK(s.devices == 5);
    CHECK(s.with_lsc == 0);
    CHECK(s.pending_install == 2);
    CHECK(s.pending_fetch == 1);
    CHECK(s.pending_delete == 0);
    CHECK(s.auth_strings_set == 1);
    CHECK(s.leases_held == 1);

    const auto counts = repo.reports.audit_counts(before);
    std::size_t install = 0, fetch = 0;
    for (const auto& c : counts) {
        if (c.event == "schedule" && c.outcome == "install")
            install = c.count;
        if (c.event == "schedule" && c.outcome == "fetch")
            fetch = c.count;
    }
    CHECK(install == 2);
    CHECK(fetch == 1);
    CHECK(repo.reports.audit_counts(std::chrono::system_clock::now() + 1h).empty());
}

TEST_CASE("storage: cluster settings are stored once per key, audited when they change") {
    test::TestDatabase db;
    test::Repositories repo(*db.pool);
    ClusterSettings settings(*db.pool);
    CHECK_FALSE(settings.get(itl_rollback_setting).has_value());
    CHECK_FALSE(settings.flag(itl_rollback_setting));
    CHECK(settings.set_flag(itl_rollback_setting, true, "alice"));
    CHECK_FALSE(settings.set_flag(itl_rollback_setting, true, "bob"));  // no change, no event
    CHECK(settings.flag(itl_rollback_setting));
    const auto stored = settings.get(itl_rollback_setting);
    REQUIRE(stored.has_value());
    CHECK(stored->value_json == "true");
    CHECK(stored->changed_by == "alice");
    CHECK(stored->changed_at.has_value());
    CHECK(settings.set(itl_rollback_setting, R"({"a": 1})", "bob"));
    CHECK_FALSE(settings.flag(itl_rollback_setting));  // only JSON true is on
    std::vector<std::string> details;
    for (const auto& e : repo.audit.audit_events({})) {
        if (e.event == "cluster_setting")
            details.push_back(e.peer + ": " + e.detail);
    }
    CHECK(details.size() == 2);
    CHECK(std::find(details.begin(), details.end(), "alice: itl_rollback unset -> true") !=
          details.end());
    CHECK(std::find(details.begin(), details.end(), R"(bob: itl_rollback true -> {"a": 1})") !=
          details.end());

    const auto code_of = [&](const std::string& key, const std::string& value) {
        try {
            settings.set(key, value, "carol");
        } catch (const StorageError& e) {
            return e.code();
        }
        FAIL("accepted " << key << " = " << value);
        return StorageErrc::conflict;
    };
    CHECK(code_of("Bad Key", "true") == StorageErrc::invalid_value);
    CHECK(code_of("x", "not json") == StorageErrc::invalid_value);
}

}  // namespace trust_and_stats_test_cases
