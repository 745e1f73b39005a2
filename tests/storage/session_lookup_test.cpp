// Issue 13: the statements of a phone session made fewer. The session's
// lookup reads only what a session needs and, under the null string, claims
// in the same statement; the claim audits the authentication in its own;
// the single-statement outcomes still refuse a lost lease and change nothing.
#include <catch2/catch.hpp>
#include <thread>

#include "storage/error.hpp"
#include "tests/storage/pg_test_support.hpp"
#include "tests/storage/repositories.hpp"

// The file's own namespace: the suite is compiled in unity batches, and its
// file-local names must not meet another file's.
namespace session_lookup_test_cases {

using namespace capf;
using namespace capf::storage;
using namespace std::chrono_literals;

namespace {

const std::string device_name = "SEP00AA11BB22CC";
const std::string phone_address = "10.0.0.9:5000";

DeviceSettings phone(AuthMode mode = AuthMode::null_string, const std::string& spec = "rsa-2048") {
    return DeviceSettings{device_name, "ward phone", mode, spec};
}

AuditEvent accepted(const std::string& node = "node-a") {
    return AuditEvent{device_name, phone_address, node, "authentication",
                      "accepted",  "null-string", {}};
}

std::size_t count_events(test::Repositories& repo, const std::string& event,
                         const std::string& outcome) {
    std::size_t n = 0;
    for (const auto& e : repo.audit.audit_events(AuditQuery{device_name, {}, 1000}))
        n += (e.event == event && e.outcome == outcome) ? 1u : 0u;
    return n;
}

void schedule(test::Repositories& repo, Operation op, std::optional<TimePoint> deadline = {}) {
    repo.schedule.schedule_operation(device_name, ScheduleRequest{op, {}, {}, deadline},
                                     test::admin_actor);
}

}  // namespace

TEST_CASE("storage: a session's lookup reads its device, the deadline by the database's clock") {
    test::TestDatabase db;
    test::Repositories repo(*db.pool);
    CHECK_FALSE(repo.claims.find_session_device(device_name).has_value());
    repo.devices.add_device(phone(AuthMode::auth_string, "ec-p256"), test::admin_actor);
    repo.devices.update_device(
        DeviceSettings{device_name, "ward phone", AuthMode::auth_string, "ec-p256",
                       /*require_sudi=*/true},
        test::admin_actor);
    auto d = repo.claims.find_session_device("sep00aa11bb22cc");  // names are canonical
    REQUIRE(d);
    CHECK(d->name == device_name);
    CHECK(d->pending_operation == Operation::none);
    CHECK(d->auth_mode == AuthMode::auth_string);
    CHECK(d->key_spec == "ec-p256");
    CHECK(d->require_sudi);
    CHECK_FALSE(d->deadline_passed);
    schedule(repo, Operation::install, std::chrono::system_clock::now() + 1h);
    CHECK(repo.claims.find_session_device(device_name)->pending_operation == Operation::install);
    CHECK_FALSE(repo.claims.find_session_device(device_name)->deadline_passed);
    // A deadline already passed by the database's clock.
    db.pool->transact([](pqxx::work& txn) {
        txn.exec0("UPDATE devices SET operation_deadline = now() - interval '1 second'");
    });
    CHECK(repo.claims.find_session_device(device_name)->deadline_passed);
}

TEST_CASE("storage: under the null string the lookup claims and audits in one statement") {
    test::TestDatabase db;
    test::Repositories repo(*db.pool);
    repo.devices.add_device(phone(), test::admin_actor);
    schedule(repo, Operation::install);
    const auto found = repo.claims.find_session_device_and_claim(device_name, "node-a", 60s,
                                                                 accepted(), true, true);
    REQUIRE(found.device);
    CHECK(found.device->pending_operation == Operation::install);
    REQUIRE(found.claim);
    CHECK(found.claim->status == ClaimOutcome::Status::claimed);
    REQUIRE(found.claim->claim);
    CHECK(found.claim->claim->operation == Operation::install);
    CHECK(found.claim->claim->node == "node-a");
    CHECK(found.claim->claim->key_spec == "rsa-2048");
    CHECK(found.claim->claim->lease_expires_at > std::chrono::system_clock::now() + 30s);
    CHECK(repo.devices.find_device(device_name)->operation_status == OperationStatus::in_progress);
    CHECK(repo.devices.find_device(device_name)->lease_owner == "node-a");
    CHECK(count_events(repo, "authentication", "accepted") == 1);

    SECTION("a second claimer, another node, finds it held and claims nothing") {
        const auto other = repo.claims.find_session_device_and_claim(
            device_name, "node-b", 60s, accepted("node-b"), true, true);
        REQUIRE(other.claim);
        CHECK(other.claim->status == ClaimOutcome::Status::held_elsewhere);
        CHECK_FALSE(other.claim->claim);
        CHECK(repo.devices.find_device(device_name)->lease_owner == "node-a");
    }
    SECTION("the same node takes back its own lease when no session of it holds it") {
        const auto again = repo.claims.find_session_device_and_claim(device_name, "node-a", 60s,
                                                                     accepted(), true, true);
        REQUIRE(again.claim);
        CHECK(again.claim->status == ClaimOutcome::Status::claimed);
    }
    SECTION("a caller whose own session holds it claims nothing (may_claim false)") {
        const auto held = repo.claims.find_session_device_and_claim(device_name, "node-a", 60s,
                                                                    accepted(), false, true);
        REQUIRE(held.claim);
        CHECK(held.claim->status == ClaimOutcome::Status::held_elsewhere);
        CHECK_FALSE(held.claim->claim);
    }
}

TEST_CASE("storage: the lookup claims nothing where the null string is not all there is to check") {
    test::TestDatabase db;
    test::Repositories repo(*db.pool);
    SECTION("no such device") {
        const auto found = repo.claims.find_session_device_and_claim(device_name, "node-a", 60s,
                                                                     accepted(), true, true);
        CHECK_FALSE(found.device);
        CHECK_FALSE(found.claim);
    }
    SECTION("another auth mode: it authenticates first, then claims") {
        repo.devices.add_device(phone(AuthMode::auth_string), test::admin_actor);
        schedule(repo, Operation::install);
        const auto found = repo.claims.find_session_device_and_claim(device_name, "node-a", 60s,
                                                                     accepted(), true, true);
        REQUIRE(found.device);
        CHECK(found.device->auth_mode == AuthMode::auth_string);
        CHECK_FALSE(found.claim);
        CHECK_FALSE(repo.devices.find_device(device_name)->lease_owner);
        CHECK(count_events(repo, "authentication", "accepted") == 0);
    }
    SECTION("nothing pending") {
        repo.devices.add_device(phone(), test::admin_actor);
        const auto found = repo.claims.find_session_device_and_claim(device_name, "node-a", 60s,
                                                                     accepted(), true, true);
        REQUIRE(found.device);
        CHECK_FALSE(found.claim);
        CHECK(count_events(repo, "authentication", "accepted") == 0);
    }
    SECTION("the deadline has passed") {
        repo.devices.add_device(phone(), test::admin_actor);
        schedule(repo, Operation::install);
        db.pool->transact([](pqxx::work& txn) {
            txn.exec0("UPDATE devices SET operation_deadline = now() - interval '1 second'");
        });
        const auto found = repo.claims.find_session_device_and_claim(device_name, "node-a", 60s,
                                                                     accepted(), true, true);
        REQUIRE(found.device);
        CHECK(found.device->deadline_passed);
        CHECK_FALSE(found.claim);
        CHECK_FALSE(repo.devices.find_device(device_name)->lease_owner);
    }
}

TEST_CASE("storage: of many sessions looking up and claiming one device at once, one claims") {
    test::TestDatabase db;
    test::Repositories repo(*db.pool);
    repo.devices.add_device(phone(), test::admin_actor);
    for (int round = 0; round < 10; ++round) {
        schedule(repo, Operation::install);
        std::atomic<int> claimed{0}, held{0};
        std::vector<std::thread> nodes;
        for (int n = 0; n < 6; ++n) {
            nodes.emplace_back([&, n] {
                const std::string node = "node-" + std::to_string(n);
                const auto found = repo.claims.find_session_device_and_claim(
                    device_name, node, 60s, accepted(node), true, false);
                if (found.claim && found.claim->claim)
                    ++claimed;
                else if (found.claim && found.claim->status == ClaimOutcome::Status::held_elsewhere)
                    ++held;
            });
        }
        for (auto& t : nodes)
            t.join();
        INFO("round " << round);
        CHECK(claimed == 1);
        CHECK(held == 5);
    }
}

TEST_CASE("storage: the claim audits the authentication it was made for, whatever it finds") {
    test::TestDatabase db;
    test::Repositories repo(*db.pool);
    repo.devices.add_device(phone(AuthMode::auth_string), test::admin_actor);
    schedule(repo, Operation::fetch);
    AuditEvent audit = accepted();
    audit.detail = "auth-string";
    ClaimExpectation expected{Operation::fetch, AuthMode::auth_string, std::nullopt, audit};
    const auto first = repo.claims.claim_pending_operation(device_name, "node-a", 60s, expected);
    CHECK(first.status == ClaimOutcome::Status::claimed);
    const auto second = repo.claims.claim_pending_operation(device_name, "node-b", 60s, expected);
    CHECK(second.status == ClaimOutcome::Status::held_elsewhere);
    // Both authentications are on record, each with its peer and node.
    CHECK(count_events(repo, "authentication", "accepted") == 2);
    expected.audit.reset();
    repo.claims.claim_pending_operation(device_name, "node-c", 60s, expected);
    CHECK(count_events(repo, "authentication", "accepted") == 2);  // none asked for, none written
}

TEST_CASE("storage: a one-statement outcome of a lost lease records nothing at all") {
    test::TestDatabase db;
    test::Repositories repo(*db.pool);
    repo.devices.add_device(phone(), test::admin_actor);
    schedule(repo, Operation::install);
    const auto claim = *repo.claims.claim_pending_operation(device_name, "node-a", 60s);
    const auto now = std::chrono::system_clock::now();
    const IssuedCertificateRecord cert{"0abc",
                                       Bytes{0x30, 0x03, 0x02, 0x01, 0x01},
                                       now,
                                       now + 24h,
                                       Bytes{0x30, 0x59},
                                       std::string(32, 'b')};
    // Another node takes the lease over (it expired for this one).
    db.pool->transact([](pqxx::work& txn) {
        txn.exec0(
            "UPDATE devices SET lease_owner = 'node-b', lease_expires_at = now() + interval '1 minute'");
    });
    const auto events_before = repo.audit.audit_events(AuditQuery{device_name, {}, 1000}).size();
    CHECK(test::storage_error_of([&] {
              repo.outcomes.record_certificate_issued(claim, cert, phone_address);
          }) == StorageErrc::lease_lost);
    CHECK(repo.certificates.issued_certificates(device_name).empty());
    CHECK(test::storage_error_of([&] {
              repo.outcomes.record_store_confirmed(claim, cert, phone_address);
          }) == StorageErrc::lease_lost);
    CHECK_FALSE(repo.devices.find_device(device_name)->lsc);
    CHECK(repo.audit.audit_events(AuditQuery{device_name, {}, 1000}).size() == events_before);
    std::size_t deliveries = 1;
    db.pool->transact([&](pqxx::work& txn) {
        deliveries = txn.exec1("SELECT count(*) FROM deliveries")[0].as<std::size_t>();
    });
    CHECK(deliveries == 0);
}

}  // namespace session_lookup_test_cases
