// The repository against a real PostgreSQL: every call, every refusal.
#include <catch2/catch.hpp>
#include <functional>
#include <set>
#include <thread>

#include "storage/error.hpp"
#include "tests/storage/pg_test_support.hpp"
#include "tests/storage/repositories.hpp"

// The file's own namespace: the suite is compiled in unity batches, and its
// file-local names must not meet another file's.
namespace repository_test_cases {

using namespace capf;
using namespace capf::storage;
using namespace std::chrono_literals;

namespace {

DeviceSettings phone(const std::string& name, AuthMode mode = AuthMode::null_string,
                     const std::string& spec = "rsa-2048") {
    return DeviceSettings{name, "lobby phone", mode, spec};
}

IssuedCertificateRecord cert(const std::string& serial,
                             const std::string& md5 = std::string(32, 'a')) {
    const auto now = std::chrono::system_clock::now();
    return IssuedCertificateRecord{serial,
                                   Bytes{0x30, 0x82, 0x01, 0x00, 0xFF},
                                   now,
                                   now + std::chrono::hours(24 * 365),
                                   Bytes{0x30, 0x59, 0x00},
                                   md5};
}

}  // namespace

TEST_CASE("storage: migrations apply once and are idempotent") {
    test::TestDatabase db;
    CHECK(apply_migrations(*db.pool) == latest_schema_version());
    CHECK(apply_migrations(*db.pool) == latest_schema_version());
    int rows = 0;
    db.pool->transact([&](pqxx::work& txn) {
        rows = txn.exec1("SELECT count(*) FROM schema_migrations")[0].as<int>();
    });
    CHECK(rows == latest_schema_version());
}

TEST_CASE("storage: device add, find, update, remove") {
    test::TestDatabase db;
    test::Repositories repo(*db.pool);
    const auto added = repo.devices.add_device(
        phone("sep001122334455", AuthMode::auth_string, "ec-p256"), test::admin_actor);
    CHECK(added.name == "SEP001122334455");  // stored uppercase
    CHECK(added.auth_mode == AuthMode::auth_string);
    CHECK(added.key_spec == "ec-p256");
    CHECK(added.pending_operation == Operation::none);
    CHECK_FALSE(added.lsc.has_value());

    const auto found = repo.devices.find_device("SEP001122334455");
    REQUIRE(found.has_value());
    CHECK(found->description == "lobby phone");
    CHECK_FALSE(repo.devices.find_device("SEP00AABBCCDDEE").has_value());

    const auto updated = repo.devices.update_device(
        DeviceSettings{"SEP001122334455", "ward 3", AuthMode::lsc, "rsa-4096"}, test::admin_actor);
    CHECK(updated.description == "ward 3");
    CHECK(updated.auth_mode == AuthMode::lsc);
    CHECK(updated.key_spec == "rsa-4096");

    repo.devices.remove_device("sep001122334455", test::admin_actor);
    CHECK_FALSE(repo.devices.find_device("SEP001122334455").has_value());
    CHECK(test::storage_error_of([&] {
              repo.devices.remove_device("SEP001122334455", test::admin_actor);
          }) == StorageErrc::not_found);
    CHECK(test::storage_error_of([&] {
              repo.devices.update_device(phone("SEP001122334455"), test::admin_actor);
          }) == StorageErrc::not_found);
}

TEST_CASE("storage: refused inputs get their typed error and change nothing") {
    test::TestDatabase db;
    test::Repositories repo(*db.pool);
    repo.devices.add_device(phone("SEP001122334455"), test::admin_actor);
    CHECK(test::storage_error_of([&] {
              repo.devices.add_device(phone("SEP001122334455"), test::admin_actor);
          }) == StorageErrc::already_exists);
    CHECK(test::storage_error_of([&] {
              repo.devices.add_device(phone("SEP 001122"), test::admin_actor);
          }) == StorageErrc::invalid_device_name);
    CHECK(test::storage_error_of([&] {
              repo.devices.add_device(phone(std::string(65, 'A')), test::admin_actor);
          }) == StorageErrc::invalid_device_name);
    CHECK(test::storage_error_of([&] { repo.devices.add_device(phone(""), test::admin_actor); }) ==
          StorageErrc::invalid_device_name);
    CHECK(test::storage_error_of([&] {
              repo.devices.add_device(phone("SEP1", AuthMode::null_string, "rsa-8192"),
                                      test::admin_actor);
          }) == StorageErrc::invalid_value);
    CHECK(test::storage_error_of([&] { parse_auth_mode("password"); }) ==
          StorageErrc::invalid_value);
    CHECK(test::storage_error_of([&] { parse_operation("upgrade"); }) ==
          StorageErrc::invalid_value);
    CHECK(test::storage_error_of([&] { parse_operation_status("done"); }) ==
          StorageErrc::invalid_value);
    try {
        parse_auth_mode("password");
    } catch (const StorageError& e) {
        CHECK_THAT(std::string(e.what()),
                   Catch::Contains("null-string, auth-string, lsc, mic, lsc-or-mic"));
    }
    // The database itself refuses bad data, even from a caller that skips the checks.
    CHECK(test::storage_error_of([&] {
              db.pool->transact([](pqxx::work& txn) {
                  txn.exec_params0(
                      "UPDATE devices SET lsc_serial = 'ab', lsc_der = '\\x30', lsc_md5 = $1",
                      std::string("NOT-AN-MD5"));
              });
          }) == StorageErrc::invalid_value);
    CHECK(test::storage_error_of([&] {
              db.pool->transact([](pqxx::work& txn) {
                  txn.exec_params0("UPDATE devices SET pending_operation = $1",
                                   std::string("upgrade"));
              });
          }) == StorageErrc::invalid_value);
    CHECK(test::storage_error_of([&] {
              db.pool->transact([](pqxx::work& txn) {
                  txn.exec_params0("INSERT INTO devices (name) VALUES ($1)",
                                   std::string("sep-lowercase"));
              });
          }) == StorageErrc::invalid_value);
    CHECK(repo.devices.list_devices({}, "", 10).devices.size() == 1);
}

TEST_CASE("storage: list with filters and keyset pagination") {
    test::TestDatabase db;
    test::Repositories repo(*db.pool);
    for (int i = 0; i < 25; ++i) {
        char name[32];
        std::snprintf(name, sizeof name, "SEP0000000000%02d", i);
        repo.devices.add_device(phone(name), test::admin_actor);
    }
    repo.devices.add_device(phone("CIPC-LAB"), test::admin_actor);
    repo.schedule.schedule_operation(
        "SEP000000000003", ScheduleRequest{Operation::fetch, {}, {}, {}}, test::admin_actor);

    std::vector<std::string> seen;
    std::string after;
    int pages = 0;
    do {
        const auto page = repo.devices.list_devices(DeviceFilter{"sep", {}, {}, {}}, after, 10);
        for (const auto& d : page.devices)
            seen.push_back(d.name);
        after = page.next_after;
        ++pages;
    } while (!after.empty());
    CHECK(seen.size() == 25);
    CHECK(pages == 3);
    CHECK(std::is_sorted(seen.begin(), seen.end()));
    const auto fetching =
        repo.devices.list_devices(DeviceFilter{"", Operation::fetch, {}, {}}, "", 100);
    REQUIRE(fetching.devices.size() == 1);
    CHECK(fetching.devices[0].name == "SEP000000000003");
    CHECK(repo.devices.list_devices(DeviceFilter{"", {}, OperationStatus::pending, {}}, "", 100)
              .devices.size() == 1);
}

TEST_CASE("storage: schedule, cancel and bulk scheduling with device-level precedence") {
    test::TestDatabase db;
    test::Repositories repo(*db.pool);
    for (const char* n :
         {"SEPA00000000001", "SEPA00000000002", "SEPA00000000003", "SEPB00000000001"}) {
        repo.devices.add_device(phone(n), test::admin_actor);
    }
    const auto deadline = std::chrono::system_clock::now() + 48h;
    repo.schedule.schedule_operation(
        "SEPA00000000001",
        ScheduleRequest{Operation::remove, AuthMode::lsc, std::string("ec-p384"), deadline},
        test::admin_actor);
    auto d = *repo.devices.find_device("SEPA00000000001");
    CHECK(d.pending_operation == Operation::remove);
    CHECK(d.auth_mode == AuthMode::lsc);
    CHECK(d.key_spec == "ec-p384");
    CHECK(d.operation_status == OperationStatus::pending);
    REQUIRE(d.operation_deadline.has_value());
    CHECK(std::chrono::abs(*d.operation_deadline - deadline) < 1ms);

    // Bulk install for SEPA*: the device-level delete is kept.
    CHECK(repo.schedule.schedule_bulk(DeviceFilter{"SEPA", {}, {}, {}},
                                      ScheduleRequest{Operation::install, {}, {}, {}}, false,
                                      test::admin_actor) == 2);
    CHECK(repo.devices.find_device("SEPA00000000001")->pending_operation == Operation::remove);
    CHECK(repo.devices.find_device("SEPA00000000002")->pending_operation == Operation::install);
    CHECK(repo.devices.find_device("SEPB00000000001")->pending_operation == Operation::none);
    // A later bulk replaces bulk-scheduled operations, still not device-level ones.
    CHECK(repo.schedule.schedule_bulk(DeviceFilter{}, ScheduleRequest{Operation::fetch, {}, {}, {}},
                                      false, test::admin_actor) == 3);
    CHECK(repo.devices.find_device("SEPA00000000002")->pending_operation == Operation::fetch);
    CHECK(repo.devices.find_device("SEPA00000000001")->pending_operation == Operation::remove);
    // Override: everything.
    CHECK(repo.schedule.schedule_bulk(DeviceFilter{},
                                      ScheduleRequest{Operation::install, {}, {}, {}}, true,
                                      test::admin_actor) == 4);
    CHECK(repo.devices.find_device("SEPA00000000001")->pending_operation == Operation::install);

    repo.schedule.cancel_operation("SEPA00000000001", test::admin_actor);
    d = *repo.devices.find_device("SEPA00000000001");
    CHECK(d.pending_operation == Operation::none);
    CHECK(d.operation_reason == "cancelled by an administrator");
    CHECK(test::storage_error_of([&] {
              repo.schedule.schedule_operation("SEPX", ScheduleRequest{}, test::admin_actor);
          }) == StorageErrc::not_found);
    CHECK(test::storage_error_of([&] {
              repo.schedule.schedule_operation(
                  "SEPA00000000002",
                  ScheduleRequest{Operation::install, {}, std::string("dsa-1024"), {}},
                  test::admin_actor);
          }) == StorageErrc::invalid_value);
}

TEST_CASE("storage: auth strings are stored as given, counted on failure and locked") {
    test::TestDatabase db;
    test::Repositories repo(*db.pool);
    repo.devices.add_device(phone("SEP001122334455", AuthMode::auth_string), test::admin_actor);
    repo.schedule.schedule_operation(
        "SEP001122334455", ScheduleRequest{Operation::install, {}, {}, {}}, test::admin_actor);
    CHECK_FALSE(repo.auth_strings.auth_string_hash("SEP001122334455").has_value());
    repo.auth_strings.set_auth_string_hash("SEP001122334455", "$salted$hash", test::admin_actor);
    CHECK(repo.auth_strings.auth_string_hash("SEP001122334455") == "$salted$hash");
    CHECK(repo.auth_strings.devices_with_auth_string("") ==
          std::vector<std::string>{"SEP001122334455"});
    CHECK(test::storage_error_of([&] {
              repo.auth_strings.set_auth_string_hash("SEP001122334455", "", test::admin_actor);
          }) == StorageErrc::invalid_value);

    using Status = AuthStringAttempt::Status;
    for (int attempt = 1; attempt <= 3; ++attempt) {
        const auto counted = repo.auth_strings.begin_auth_string_attempt("SEP001122334455", 3);
        CHECK(counted.status == Status::compare);
        CHECK(counted.hash == "$salted$hash");
        CHECK(counted.locked_now == (attempt == 3));
    }
    CHECK(repo.devices.find_device("SEP001122334455")->auth_locked);
    CHECK(repo.devices.find_device("SEP001122334455")->failed_auth_count == 3);
    // Locked: the next attempt is not counted and gets nothing to compare.
    const auto refused = repo.auth_strings.begin_auth_string_attempt("SEP001122334455", 3);
    CHECK(refused.status == Status::locked_out);
    CHECK(refused.hash.empty());
    CHECK(repo.devices.find_device("SEP001122334455")->failed_auth_count == 3);
    // Locked: the operation cannot be claimed.
    CHECK_FALSE(repo.claims.claim_pending_operation("SEP001122334455", "node-a", 60s).has_value());
    // A new auth string unlocks.
    repo.auth_strings.set_auth_string_hash("SEP001122334455", "$new$hash", test::admin_actor);
    CHECK_FALSE(repo.devices.find_device("SEP001122334455")->auth_locked);
    CHECK(repo.claims.claim_pending_operation("SEP001122334455", "node-a", 60s).has_value());
    CHECK_FALSE(repo.auth_strings.consume_auth_string("SEP001122334455",
                                                      "$salted$hash"));  // not the current one
    CHECK(repo.auth_strings.consume_auth_string("SEP001122334455", "$new$hash"));
    CHECK_FALSE(repo.auth_strings.auth_string_hash("SEP001122334455").has_value());
    CHECK_FALSE(
        repo.auth_strings.consume_auth_string("SEP001122334455", "$new$hash"));  // single use
    CHECK(repo.auth_strings.begin_auth_string_attempt("SEP001122334455", 3).status ==
          Status::none_set);
    repo.auth_strings.set_auth_string_hash("SEP001122334455", "$x$", test::admin_actor);
    repo.auth_strings.clear_auth_string("SEP001122334455", test::admin_actor);
    CHECK(repo.auth_strings.devices_with_auth_string("").empty());
}

TEST_CASE(
    "storage: a claim is exclusive, an expired lease can be taken, a stale owner is refused") {
    test::TestDatabase db;
    test::Repositories repo(*db.pool);
    repo.devices.add_device(phone("SEP001122334455", AuthMode::null_string, "ec-p256"),
                            test::admin_actor);
    CHECK_FALSE(repo.claims.claim_pending_operation("SEP001122334455", "node-a", 60s)
                    .has_value());  // nothing pending
    repo.schedule.schedule_operation(
        "SEP001122334455", ScheduleRequest{Operation::install, {}, {}, {}}, test::admin_actor);

    const auto first = repo.claims.claim_pending_operation("SEP001122334455", "node-a", 1s);
    REQUIRE(first.has_value());
    CHECK(first->operation == Operation::install);
    CHECK(first->key_spec == "ec-p256");
    CHECK(repo.devices.find_device("SEP001122334455")->operation_status ==
          OperationStatus::in_progress);
    CHECK_FALSE(repo.claims.claim_pending_operation("SEP001122334455", "node-b", 60s).has_value());

    std::this_thread::sleep_for(1100ms);  // node-a died; its lease ran out
    const auto second = repo.claims.claim_pending_operation("SEP001122334455", "node-b", 60s);
    REQUIRE(second.has_value());
    CHECK(second->node == "node-b");
    CHECK(test::storage_error_of([&] {
              repo.outcomes.record_certificate_issued(*first, cert("aa01"), "10.0.0.1");
          }) == StorageErrc::lease_lost);
    CHECK(repo.certificates.issued_certificates("SEP001122334455").empty());
    repo.outcomes.record_certificate_issued(*second, cert("aa02"), "10.0.0.1");
    CHECK(repo.certificates.issued_certificates("SEP001122334455") ==
          std::vector<std::pair<std::string, bool>>{{"aa02", false}});
}

TEST_CASE("storage: a node may take back its own unexpired lease, never another node's") {
    test::TestDatabase db;
    test::Repositories repo(*db.pool);
    repo.devices.add_device(phone("SEP001122334455"), test::admin_actor);
    repo.schedule.schedule_operation(
        "SEP001122334455", ScheduleRequest{Operation::install, {}, {}, {}}, test::admin_actor);
    REQUIRE(repo.claims.claim_pending_operation("SEP001122334455", "node-b", 3600s).has_value());
    CHECK_FALSE(
        repo.claims.claim_pending_operation("SEP001122334455", "node-a", 60s, true).has_value());
    CHECK_FALSE(repo.claims.claim_pending_operation("SEP001122334455", "node-b", 60s).has_value());
    const auto again = repo.claims.claim_pending_operation("SEP001122334455", "node-b", 60s, true);
    REQUIRE(again.has_value());
    CHECK(again->node == "node-b");
    repo.outcomes.record_certificate_issued(*again, cert("bb01"),
                                            "10.0.0.1");  // the lease is valid
}

TEST_CASE("storage: outcomes change the device only when confirmed, each with an audit event") {
    test::TestDatabase db;
    test::Repositories repo(*db.pool);
    repo.devices.add_device(phone("SEP001122334455"), test::admin_actor);
    repo.schedule.schedule_operation(
        "SEP001122334455", ScheduleRequest{Operation::install, {}, {}, {}}, test::admin_actor);
    auto claim = *repo.claims.claim_pending_operation("SEP001122334455", "node-a", 60s);
    const auto issued = cert("0badc0de", "0123456789abcdef0123456789abcdef");
    repo.outcomes.record_certificate_issued(claim, issued, "10.1.2.3:5000");
    CHECK_FALSE(repo.devices.find_device("SEP001122334455")
                    ->lsc.has_value());  // not yet: the phone must confirm
    repo.outcomes.record_store_confirmed(claim, issued, "10.1.2.3:5000");
    auto d = *repo.devices.find_device("SEP001122334455");
    REQUIRE(d.lsc.has_value());
    CHECK(d.lsc->serial_hex == "0badc0de");
    CHECK(d.lsc->md5_hex == "0123456789abcdef0123456789abcdef");
    CHECK(d.lsc->der == issued.der);
    CHECK(d.lsc->public_key_der == issued.public_key_der);
    CHECK(d.pending_operation == Operation::none);
    CHECK(d.operation_status == OperationStatus::succeeded);
    CHECK_FALSE(d.lease_owner.has_value());
    CHECK(repo.certificates.issued_certificates("SEP001122334455").front().second);  // confirmed
    // The lease is gone with the operation: a late repeat is refused.
    CHECK(test::storage_error_of([&] {
              repo.outcomes.record_store_confirmed(claim, issued, "");
          }) == StorageErrc::lease_lost);

    // A bad MD5 is refused by the database.
    repo.schedule.schedule_operation(
        "SEP001122334455", ScheduleRequest{Operation::install, {}, {}, {}}, test::admin_actor);
    claim = *repo.claims.claim_pending_operation("SEP001122334455", "node-a", 60s);
    CHECK(test::storage_error_of([&] {
              repo.outcomes.record_store_confirmed(claim, cert("0c", "NOT-HEX"), "");
          }) == StorageErrc::invalid_value);
    CHECK(repo.devices.find_device("SEP001122334455")->lsc->serial_hex == "0badc0de");

    // Failure: recorded, the operation stays pending for the phone's retry.
    repo.outcomes.record_failure(claim, "keygen_timeout after 4 attempts", "10.1.2.3:5001");
    d = *repo.devices.find_device("SEP001122334455");
    CHECK(d.operation_status == OperationStatus::failed);
    CHECK(d.operation_reason == "keygen_timeout after 4 attempts");
    CHECK(d.pending_operation == Operation::install);

    // Fetch.
    repo.schedule.schedule_operation(
        "SEP001122334455", ScheduleRequest{Operation::fetch, {}, {}, {}}, test::admin_actor);
    claim = *repo.claims.claim_pending_operation("SEP001122334455", "node-a", 60s);
    repo.outcomes.record_fetched_certificate(claim, Bytes{0x30, 0x01}, std::string(32, 'f'),
                                             Bytes{0x30}, "10.1.2.3");
    d = *repo.devices.find_device("SEP001122334455");
    CHECK(d.fetched_md5 == std::string(32, 'f'));
    CHECK(d.fetched_at.has_value());

    // Delete.
    repo.schedule.schedule_operation(
        "SEP001122334455", ScheduleRequest{Operation::remove, {}, {}, {}}, test::admin_actor);
    claim = *repo.claims.claim_pending_operation("SEP001122334455", "node-a", 60s);
    repo.outcomes.record_delete_confirmed(claim, "10.1.2.3");
    CHECK_FALSE(repo.devices.find_device("SEP001122334455")->lsc.has_value());

    const auto events = repo.audit.audit_events(AuditQuery{"SEP001122334455", {}, 100});
    std::set<std::string> kinds;
    for (const auto& e : events)
        kinds.insert(e.event + "/" + e.outcome);
    for (const char* k : {"install/issued", "install/succeeded", "install/failed",
                          "fetch/succeeded", "delete/succeeded", "schedule/install"}) {
        INFO(k);
        CHECK(kinds.count(k) == 1);
    }
    CHECK(events.front().at.has_value());
    repo.audit.append_audit(AuditEvent{"SEP001122334455", "10.9.9.9", "node-a", "authentication",
                                       "refused", "auth_string_mismatch", std::nullopt});
    CHECK(repo.audit.audit_events(AuditQuery{"SEP001122334455", {}, 1}).front().detail ==
          "auth_string_mismatch");
    CHECK(test::storage_error_of([&] { repo.audit.append_audit(AuditEvent{}); }) ==
          StorageErrc::invalid_value);
}

TEST_CASE("storage: deadlines stop claims and expire operations, the report filters by expiry") {
    test::TestDatabase db;
    test::Repositories repo(*db.pool);
    repo.devices.add_device(phone("SEP0000000000AA"), test::admin_actor);
    repo.devices.add_device(phone("SEP0000000000BB"), test::admin_actor);
    repo.schedule.schedule_operation(
        "SEP0000000000AA",
        ScheduleRequest{Operation::install, {}, {}, std::chrono::system_clock::now() - 1s},
        test::admin_actor);
    CHECK_FALSE(repo.claims.claim_pending_operation("SEP0000000000AA", "node-a", 60s).has_value());
    CHECK(repo.schedule.expire_overdue_operations() == 1);
    const auto d = *repo.devices.find_device("SEP0000000000AA");
    CHECK(d.operation_status == OperationStatus::expired);
    CHECK(d.pending_operation == Operation::none);
    CHECK(repo.schedule.expire_overdue_operations() == 0);

    // Give BB a certificate expiring in 10 days, then ask who expires within 30.
    repo.schedule.schedule_operation(
        "SEP0000000000BB", ScheduleRequest{Operation::install, {}, {}, {}}, test::admin_actor);
    const auto claim = *repo.claims.claim_pending_operation("SEP0000000000BB", "node-a", 60s);
    auto c = cert("bb01");
    c.not_after = std::chrono::system_clock::now() + 24h * 10;
    repo.outcomes.record_store_confirmed(claim, c, "");
    const auto soon =
        repo.reports.report(DeviceFilter{"", {}, {}, std::chrono::system_clock::now() + 24h * 30});
    REQUIRE(soon.size() == 1);
    CHECK(soon[0].name == "SEP0000000000BB");
    CHECK(soon[0].has_lsc);
    CHECK(soon[0].lsc_serial == "bb01");
    CHECK(repo.reports.report(DeviceFilter{"", {}, {}, std::chrono::system_clock::now() + 24h * 5})
              .empty());
    CHECK(repo.reports.report(DeviceFilter{}).size() == 2);
}

namespace {

/// The audit trail, oldest first, one line per event: "DEVICE event/outcome
/// by PEER: DETAIL" (node and time left out: admin changes have no node).
std::vector<std::string> audit_trail(test::Repositories& repo, const std::string& event = "") {
    auto events = repo.audit.audit_events(AuditQuery{"", std::nullopt, 1000});
    std::vector<std::string> out;
    for (auto e = events.rbegin(); e != events.rend(); ++e) {
        if (event.empty() || e->event == event)
            out.push_back(e->device + " " + e->event + "/" + e->outcome + " by " + e->peer + ": " +
                          e->detail);
    }
    return out;
}

}  // namespace

TEST_CASE("storage: every device and auth-string change is audited with its actor") {
    test::TestDatabase db;
    test::Repositories repo(*db.pool);
    // Hashes with a recognisable secret in them: neither may reach the audit.
    const std::string secret = "483920";
    const std::string hash_of_one = "$pbkdf2-sha256$1000$salt1$" + secret;
    const std::string hash_in_bulk = "$pbkdf2-sha256$1000$salt2$" + secret;

    repo.devices.add_device(phone("SEP000000000001", AuthMode::auth_string, "ec-p256"),
                            "uid 0 pid 11");
    CHECK(repo.devices.add_devices(
              {phone("SEP000000000002"), phone("SEP000000000003", AuthMode::lsc, "rsa-4096")},
              "uid 0 pid 12") == 2);
    CHECK(repo.devices.add_devices({phone("SEP000000000002")}, "uid 0 pid 13") == 0);  // no change
    repo.devices.update_device(
        DeviceSettings{"SEP000000000001", "ward 3", AuthMode::lsc, "rsa-3072"}, "uid 0 pid 14");
    repo.auth_strings.set_auth_string_hash("SEP000000000001", hash_of_one, "uid 0 pid 15");
    repo.auth_strings.set_auth_string_hashes(
        {{"SEP000000000002", hash_in_bulk}, {"SEP000000000003", hash_in_bulk}}, "uid 0 pid 16");
    repo.auth_strings.clear_auth_string("SEP000000000001", "uid 0 pid 17");
    repo.devices.remove_device("SEP000000000003", "10.0.0.9");

    CHECK(audit_trail(repo) ==
          std::vector<std::string>{
              "SEP000000000001 device/added by uid 0 pid 11: auth_mode auth-string, key_spec "
              "ec-p256",
              "SEP000000000002 device/added by uid 0 pid 12: auth_mode null-string, key_spec "
              "rsa-2048",
              "SEP000000000003 device/added by uid 0 pid 12: auth_mode lsc, key_spec rsa-4096",
              "SEP000000000001 device/updated by uid 0 pid 14: auth_mode lsc, key_spec rsa-3072",
              "SEP000000000001 auth_string/set by uid 0 pid 15: ",
              "SEP000000000002 auth_string/set by uid 0 pid 16: ",
              "SEP000000000003 auth_string/set by uid 0 pid 16: ",
              "SEP000000000001 auth_string/deleted by uid 0 pid 17: ",
              "SEP000000000003 device/removed by 10.0.0.9: ",
          });
    for (const auto& line : audit_trail(repo)) {
        INFO(line);
        CHECK(line.find(secret) == std::string::npos);
        CHECK(line.find("pbkdf2") == std::string::npos);
    }
}

TEST_CASE("storage: every scheduling change is audited with its actor") {
    test::TestDatabase db;
    test::Repositories repo(*db.pool);
    for (const char* n : {"SEPA00000000001", "SEPA00000000002", "SEPB00000000001"})
        repo.devices.add_device(phone(n), test::admin_actor);

    repo.schedule.schedule_operation("SEPA00000000001",
                                     ScheduleRequest{Operation::fetch, {}, {}, {}}, "uid 0 pid 21");
    CHECK(repo.schedule.schedule_bulk(DeviceFilter{"SEPA", {}, {}, {}},
                                      ScheduleRequest{Operation::install, {}, {}, {}}, false,
                                      "uid 0 pid 22") == 1);
    CHECK(repo.schedule.schedule_bulk(DeviceFilter{"SEPC", {}, {}, {}},
                                      ScheduleRequest{Operation::install, {}, {}, {}}, false,
                                      "uid 0 pid 23") == 0);  // no device: no event
    repo.schedule.cancel_operation("SEPA00000000001", "uid 0 pid 24");
    repo.schedule.cancel_operation("SEPB00000000001", "uid 0 pid 25");  // nothing was pending

    CHECK(audit_trail(repo, "schedule") ==
          std::vector<std::string>{
              "SEPA00000000001 schedule/fetch by uid 0 pid 21: device level",
              "SEPA00000000002 schedule/install by uid 0 pid 22: bulk",
              "SEPA00000000001 schedule/cancelled by uid 0 pid 24: fetch",
              "SEPB00000000001 schedule/cancelled by uid 0 pid 25: none",
          });
}

TEST_CASE("storage: a refused change records no audit event") {
    test::TestDatabase db;
    test::Repositories repo(*db.pool);
    repo.devices.add_device(phone("SEP000000000001"), test::admin_actor);
    const auto before = audit_trail(repo);
    REQUIRE(before.size() == 1);

    CHECK(test::storage_error_of([&] { repo.devices.add_device(phone("SEP000000000001"), "x"); }) ==
          StorageErrc::already_exists);
    CHECK(test::storage_error_of([&] {
              repo.devices.add_devices(
                  {phone("SEP000000000002"),
                   phone("SEP000000000003", AuthMode::null_string, "rsa-8192")},
                  "x");
          }) == StorageErrc::invalid_value);
    CHECK(test::storage_error_of([&] {
              repo.devices.update_device(phone("SEP0000000000FF"), "x");
          }) == StorageErrc::not_found);
    CHECK(test::storage_error_of([&] { repo.devices.remove_device("SEP0000000000FF", "x"); }) ==
          StorageErrc::not_found);
    CHECK(test::storage_error_of([&] {
              repo.schedule.schedule_operation("SEP0000000000FF", ScheduleRequest{}, "x");
          }) == StorageErrc::not_found);
    CHECK(test::storage_error_of([&] { repo.schedule.cancel_operation("SEP0000000000FF", "x"); }) ==
          StorageErrc::not_found);
    CHECK(test::storage_error_of([&] {
              repo.auth_strings.set_auth_string_hashes(
                  {{"SEP000000000001", "h"}, {"SEP0000000000FF", "h"}}, "x");
          }) == StorageErrc::not_found);
    CHECK(test::storage_error_of([&] {
              repo.auth_strings.clear_auth_string("SEP0000000000FF", "x");
          }) == StorageErrc::not_found);

    CHECK(audit_trail(repo) == before);
    CHECK_FALSE(repo.devices.find_device("SEP000000000002").has_value());
    CHECK_FALSE(repo.auth_strings.auth_string_hash("SEP000000000001").has_value());
}

TEST_CASE(
    "storage: bulk auth-string hashes name the device that does not exist, and a name "
    "given twice is no error") {
    test::TestDatabase db;
    test::Repositories repo(*db.pool);
    repo.devices.add_device(phone("SEP000000000001"), test::admin_actor);
    repo.devices.add_device(phone("SEP000000000002"), test::admin_actor);
    try {
        repo.auth_strings.set_auth_string_hashes(
            {{"SEP000000000001", "h1"}, {"SEP0000000000AB", "hx"}, {"SEP000000000002", "h2"}}, "x");
        FAIL("an unknown device was not refused");
    } catch (const StorageError& e) {
        CHECK(e.code() == StorageErrc::not_found);
        CHECK_THAT(std::string(e.what()), Catch::Contains("SEP0000000000AB"));
    }
    CHECK_FALSE(repo.auth_strings.auth_string_hash("SEP000000000001").has_value());

    repo.auth_strings.set_auth_string_hashes(
        {{"SEP000000000001", "h1"}, {"SEP000000000002", "h2"}, {"SEP000000000001", "h1"}}, "x");
    CHECK(repo.auth_strings.auth_string_hash("SEP000000000001") == "h1");
    CHECK(repo.auth_strings.auth_string_hash("SEP000000000002") == "h2");
}

TEST_CASE("storage: each outcome is audited with the phone's address and the node") {
    test::TestDatabase db;
    test::Repositories repo(*db.pool);
    repo.devices.add_device(phone("SEP001122334455"), test::admin_actor);
    const auto run = [&](Operation op) {
        repo.schedule.schedule_operation("SEP001122334455", ScheduleRequest{op, {}, {}, {}},
                                         test::admin_actor);
        return *repo.claims.claim_pending_operation("SEP001122334455", "node-a", 60s);
    };
    auto claim = run(Operation::install);
    repo.outcomes.record_certificate_issued(claim, cert("c1"), "10.0.0.1:1001");
    repo.outcomes.record_failure(claim, "phone_closed", "10.0.0.1:1002");
    claim = run(Operation::install);
    repo.outcomes.record_certificate_issued(claim, cert("c2"), "10.0.0.1:1003");
    repo.outcomes.record_store_confirmed(claim, cert("c2"), "10.0.0.1:1004");
    claim = run(Operation::fetch);
    repo.outcomes.record_fetched_certificate(claim, Bytes{0x30}, std::string(32, 'b'), Bytes{0x30},
                                             "10.0.0.1:1005");
    claim = run(Operation::remove);
    repo.outcomes.record_delete_confirmed(claim, "10.0.0.1:1006");

    std::vector<std::string> outcomes;
    for (const auto& e : repo.audit.audit_events(AuditQuery{"SEP001122334455", {}, 100})) {
        if (e.event != "schedule" && e.event != "device")
            outcomes.insert(outcomes.begin(),
                            e.event + "/" + e.outcome + " " + e.peer + " " + e.node);
    }
    CHECK(outcomes == std::vector<std::string>{
                          "install/issued 10.0.0.1:1001 node-a",
                          "install/failed 10.0.0.1:1002 node-a",
                          "install/issued 10.0.0.1:1003 node-a",
                          "install/succeeded 10.0.0.1:1004 node-a",
                          "fetch/succeeded 10.0.0.1:1005 node-a",
                          "delete/succeeded 10.0.0.1:1006 node-a",
                      });
}

TEST_CASE("storage: install, fetch and delete each refuse a lost lease and change nothing") {
    test::TestDatabase db;
    test::Repositories repo(*db.pool);
    repo.devices.add_device(phone("SEP001122334455"), test::admin_actor);
    repo.schedule.schedule_operation(
        "SEP001122334455", ScheduleRequest{Operation::install, {}, {}, {}}, test::admin_actor);
    auto claim = *repo.claims.claim_pending_operation("SEP001122334455", "node-a", 60s);
    repo.outcomes.record_store_confirmed(claim, cert("aa01"), "10.0.0.1");

    // Each operation is claimed by node-a, then finished by a node that does
    // not hold the lease (node-b), or by node-a after an administrator
    // cancelled the operation and with it the lease.
    for (const Operation op : {Operation::install, Operation::fetch, Operation::remove}) {
        for (const bool cancelled : {false, true}) {
            INFO(to_text(op) << (cancelled ? " after a cancel" : " from another node"));
            repo.schedule.schedule_operation("SEP001122334455", ScheduleRequest{op, {}, {}, {}},
                                             test::admin_actor);
            claim = *repo.claims.claim_pending_operation("SEP001122334455", "node-a", 60s);
            auto finisher = claim;
            if (cancelled)
                repo.schedule.cancel_operation("SEP001122334455", test::admin_actor);
            else
                finisher.node = "node-b";
            CHECK(test::storage_error_of([&] {
                      if (op == Operation::install)
                          repo.outcomes.record_store_confirmed(finisher, cert("aa02"), "10.0.0.1");
                      else if (op == Operation::fetch)
                          repo.outcomes.record_fetched_certificate(
                              finisher, Bytes{0x30}, std::string(32, 'c'), Bytes{0x30}, "10.0.0.1");
                      else
                          repo.outcomes.record_delete_confirmed(finisher, "10.0.0.1");
                  }) == StorageErrc::lease_lost);
            const auto d = *repo.devices.find_device("SEP001122334455");
            REQUIRE(d.lsc.has_value());
            CHECK(d.lsc->serial_hex == "aa01");
            CHECK_FALSE(d.fetched_md5.has_value());
            CHECK(d.operation_status != OperationStatus::succeeded);
            CHECK(d.pending_operation == (cancelled ? Operation::none : op));
            CHECK(d.lease_owner ==
                  (cancelled ? std::nullopt : std::optional<std::string>("node-a")));
            repo.schedule.cancel_operation("SEP001122334455", test::admin_actor);
        }
    }
    // No refusal was audited as a success: the one success is the first install.
    std::vector<std::string> outcomes;
    for (const auto& e : repo.audit.audit_events(AuditQuery{"SEP001122334455", {}, 100})) {
        if (e.event != "schedule" && e.event != "device")
            outcomes.push_back(e.event + "/" + e.outcome + " " + e.detail);
    }
    CHECK(outcomes ==
          std::vector<std::string>{"install/succeeded serial aa01 md5 " + std::string(32, 'a')});
}

TEST_CASE("storage: an auth-mode change during the session refuses every outcome but the failure") {
    test::TestDatabase db;
    test::Repositories repo(*db.pool);
    repo.devices.add_device(phone("SEP001122334455"), test::admin_actor);
    repo.schedule.schedule_operation(
        "SEP001122334455", ScheduleRequest{Operation::install, {}, {}, {}}, test::admin_actor);
    auto claim = *repo.claims.claim_pending_operation("SEP001122334455", "node-a", 60s);
    repo.outcomes.record_store_confirmed(claim, cert("aa01"), "10.0.0.1");

    for (const Operation op : {Operation::install, Operation::fetch, Operation::remove}) {
        INFO(to_text(op));
        repo.devices.update_device(phone("SEP001122334455"), test::admin_actor);  // null string
        repo.schedule.schedule_operation("SEP001122334455", ScheduleRequest{op, {}, {}, {}},
                                         test::admin_actor);
        claim = *repo.claims.claim_pending_operation("SEP001122334455", "node-a", 60s);
        REQUIRE(claim.auth_mode == AuthMode::null_string);
        // The administrator makes the device stricter while the phone is in session.
        repo.devices.update_device(phone("SEP001122334455", AuthMode::auth_string),
                                   test::admin_actor);
        const auto refused = [&](const std::function<void()>& outcome) {
            try {
                outcome();
            } catch (const StorageError& e) {
                CHECK(std::string(e.what()) ==
                      "auth mode of SEP001122334455 changed from null-string to auth-string "
                      "during the session");
                return e.code();
            }
            FAIL("the outcome was recorded");
            return StorageErrc::invalid_value;
        };
        CHECK(refused([&] {
                  if (op == Operation::install) {
                      repo.outcomes.record_certificate_issued(claim, cert("aa02"), "10.0.0.1");
                  } else if (op == Operation::fetch) {
                      repo.outcomes.record_fetched_certificate(
                          claim, Bytes{0x30}, std::string(32, 'c'), Bytes{0x30}, "10.0.0.1");
                  } else {
                      repo.outcomes.record_delete_confirmed(claim, "10.0.0.1");
                  }
              }) == StorageErrc::conflict);
        if (op == Operation::install) {
            CHECK(refused([&] {
                      repo.outcomes.record_store_confirmed(claim, cert("aa02"), "10.0.0.1");
                  }) == StorageErrc::conflict);
        }
        const auto d = *repo.devices.find_device("SEP001122334455");
        REQUIRE(d.lsc.has_value());
        CHECK(d.lsc->serial_hex == "aa01");
        CHECK_FALSE(d.fetched_md5.has_value());
        CHECK(d.pending_operation == op);
        // The failure is recorded (the lease is still this node's), and the
        // operation stays pending for a session under the new mode.
        repo.outcomes.record_failure(claim, "operation_changed", "10.0.0.1");
        CHECK(repo.devices.find_device("SEP001122334455")->pending_operation == op);
    }
    // The refused issue recorded no certificate (the first LSC was stored
    // without one, as the lost-lease test does).
    CHECK(repo.certificates.issued_certificates("SEP001122334455").empty());
}

}  // namespace repository_test_cases
