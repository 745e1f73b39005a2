// StorageDeviceStore: the dialogue's DeviceStore over a real PostgreSQL
// (the CTest fixture), and operation_lease().
#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "capf/service/auth_string.hpp"
#include "capf/service/device_store.hpp"
#include "storage/error.hpp"
#include "tests/storage/pg_test_support.hpp"
#include "tests/storage/repositories.hpp"

// The file's own namespace: the suite is compiled in unity batches, and its
// file-local names must not meet another file's.
namespace service_device_store_test_cases {

using namespace capf;
using namespace std::chrono_literals;

namespace {

const std::string device = "SEP001122334455";
const std::string peer = "10.1.2.3:51515";

StoreSettings settings(const std::string& node = "node-a", int lockout = 3) {
    return StoreSettings{node, lockout, std::chrono::minutes(10)};
}

storage::DeviceSettings phone(AuthMode mode = AuthMode::null_string,
                              const std::string& spec = "rsa-2048") {
    return storage::DeviceSettings{device, "lobby phone", mode, spec};
}

void schedule(test::Repositories& repo, Operation op,
              std::optional<storage::TimePoint> deadline = std::nullopt) {
    storage::ScheduleRequest request;
    request.operation = op;
    request.deadline = deadline;
    repo.schedule.schedule_operation(device, request, test::admin_actor);
}

IssuedCertificateRecord certificate(int n = 0) {
    const auto now = std::chrono::system_clock::now();
    return IssuedCertificateRecord{
        n == 0 ? std::string("7f3a9c01d2") : "7f3a9c01d2" + std::to_string(n),
        {0x30, 0x82, 0x01, 0x0A, 0xAB},
        now,
        now + std::chrono::hours(24 * 365),
        {0x30, 0x59, 0x30, 0x13},
        "0123456789abcdef0123456789abcdef"};
}

/// The newest audit event of the device with this event and outcome.
std::optional<storage::AuditEvent> audit_event(test::Repositories& repo, const std::string& event,
                                               const std::string& outcome) {
    for (const auto& e : repo.audit.audit_events(storage::AuditQuery{device, std::nullopt, 50})) {
        if (e.event == event && e.outcome == outcome)
            return e;
    }
    return std::nullopt;
}

/// Claims as a session that authenticated the device as it stands now.
std::optional<OperationClaim> claim_as_now(StorageDeviceStore& store, test::Repositories& repo,
                                           const std::string& node) {
    const auto d = repo.devices.find_device(device);
    const ClaimExpectation expected{d ? d->pending_operation : Operation::none,
                                    d ? d->auth_mode : AuthMode::null_string, std::nullopt};
    return store.claim_operation(device, node, expected).claim;
}

}  // namespace

TEST_CASE("service: find_device maps operation, auth mode, key spec and deadline") {
    test::TestDatabase db;
    test::Repositories repo(*db.pool);
    StorageDeviceStore store(*db.pool, settings());

    CHECK_FALSE(store.find_device(device).has_value());

    repo.devices.add_device(phone(AuthMode::auth_string, "ec-p384"), test::admin_actor);
    auto d = store.find_device(device);
    REQUIRE(d.has_value());
    CHECK(d->name == device);
    CHECK(d->operation == Operation::none);
    CHECK(d->auth_mode == AuthMode::auth_string);
    CHECK(d->key_spec == ca::KeySpec{ca::KeySpec::Algorithm::ec, 384});
    CHECK_FALSE(d->deadline_passed);

    storage::ScheduleRequest fetch;
    fetch.operation = Operation::fetch;
    fetch.auth_mode = AuthMode::lsc_or_mic;
    fetch.key_spec = "rsa-1024";
    fetch.deadline = std::chrono::system_clock::now() + 1h;
    repo.schedule.schedule_operation(device, fetch, test::admin_actor);
    d = store.find_device(device);
    REQUIRE(d.has_value());
    CHECK(d->operation == Operation::fetch);
    CHECK(d->auth_mode == AuthMode::lsc_or_mic);
    CHECK(d->key_spec == ca::KeySpec{ca::KeySpec::Algorithm::rsa, 1024});
    CHECK_FALSE(d->deadline_passed);

    storage::ScheduleRequest remove;
    remove.operation = Operation::remove;
    remove.auth_mode = AuthMode::mic;
    remove.key_spec = "ec-p521";
    remove.deadline = std::chrono::system_clock::now() - 1min;
    repo.schedule.schedule_operation(device, remove, test::admin_actor);
    d = store.find_device(device);
    REQUIRE(d.has_value());
    CHECK(d->operation == Operation::remove);
    CHECK(d->auth_mode == AuthMode::mic);
    CHECK(d->key_spec == ca::KeySpec{ca::KeySpec::Algorithm::ec, 521});
    CHECK(d->deadline_passed);

    schedule(repo, Operation::install);  // no deadline
    d = store.find_device(device);
    REQUIRE(d.has_value());
    CHECK(d->operation == Operation::install);
    CHECK(d->auth_mode == AuthMode::mic);  // kept
    CHECK_FALSE(d->deadline_passed);
}

TEST_CASE("service: an accepted auth string is used up by the operation's success, not before") {
    test::TestDatabase db;
    test::Repositories repo(*db.pool);
    StorageDeviceStore store(*db.pool, settings());
    CHECK(store.check_auth_string(device, "123456").check ==
          AuthStringCheck::none_set);  // no device

    repo.devices.add_device(phone(AuthMode::auth_string), test::admin_actor);
    CHECK(store.check_auth_string(device, "123456").check == AuthStringCheck::none_set);

    repo.auth_strings.set_auth_string_hash(device, hash_auth_string("123456", 1000),
                                           test::admin_actor);
    schedule(repo, Operation::install);
    const auto verdict = store.check_auth_string(device, "123456");
    REQUIRE(verdict.check == AuthStringCheck::accepted);
    REQUIRE(verdict.matched_hash.has_value());
    CHECK(repo.auth_strings.auth_string_hash(device) == verdict.matched_hash);  // not used up yet
    CHECK(repo.devices.find_device(device)->failed_auth_count == 0);

    // The session fails (the phone's key generation failed): the string stays.
    const ClaimExpectation expected{Operation::install, AuthMode::auth_string,
                                    verdict.matched_hash};
    auto claim = store.claim_operation(device, "node-a", expected).claim;
    REQUIRE(claim.has_value());
    CHECK(claim->auth_string_hash == verdict.matched_hash);
    store.record_failure(*claim, "keygen_failed", peer);
    store.release_claim(*claim);
    CHECK(repo.auth_strings.auth_string_hash(device).has_value());

    // The retry with the same string succeeds and uses it up.
    REQUIRE(store.check_auth_string(device, "123456").check == AuthStringCheck::accepted);
    claim = store.claim_operation(device, "node-a", expected).claim;
    REQUIRE(claim.has_value());
    store.record_issued(*claim, certificate(), peer);
    store.record_store_confirmed(*claim, certificate(), peer);
    store.release_claim(*claim);
    CHECK_FALSE(repo.auth_strings.auth_string_hash(device).has_value());
    CHECK(store.check_auth_string(device, "123456").check == AuthStringCheck::none_set);
}

TEST_CASE(
    "service: the right auth string on the attempt that reaches the lockout is not a failure") {
    test::TestDatabase db;
    test::Repositories repo(*db.pool);
    StorageDeviceStore store(*db.pool, settings("node-a", 3));
    repo.devices.add_device(phone(AuthMode::auth_string), test::admin_actor);
    repo.auth_strings.set_auth_string_hash(device, hash_auth_string("123456", 1000),
                                           test::admin_actor);
    CHECK(store.check_auth_string(device, "654321").check == AuthStringCheck::mismatch);
    CHECK(store.check_auth_string(device, "654321").check == AuthStringCheck::mismatch);
    // The third attempt is counted (and locks) before its comparison; it matches.
    CHECK(store.check_auth_string(device, "123456").check == AuthStringCheck::accepted);
    const auto d = repo.devices.find_device(device);
    CHECK_FALSE(d->auth_locked);
    CHECK(d->failed_auth_count == 0);
}

TEST_CASE("service: wrong auth strings are counted and lock the device out at lockout_failures") {
    test::TestDatabase db;
    test::Repositories repo(*db.pool);
    StorageDeviceStore store(*db.pool, settings("node-a", 3));
    repo.devices.add_device(phone(AuthMode::auth_string), test::admin_actor);
    repo.auth_strings.set_auth_string_hash(device, hash_auth_string("123456", 1000),
                                           test::admin_actor);

    for (int i = 1; i <= 3; ++i) {
        INFO("attempt " << i);
        CHECK(store.check_auth_string(device, "654321").check == AuthStringCheck::mismatch);
        const auto d = repo.devices.find_device(device);
        CHECK(d->failed_auth_count == i);
        CHECK(d->auth_locked == (i == 3));
    }
    // Locked: even the right string is refused, and nothing more is counted.
    CHECK(store.check_auth_string(device, "123456").check == AuthStringCheck::locked_out);
    CHECK(store.check_auth_string(device, "654321").check == AuthStringCheck::locked_out);
    CHECK(repo.devices.find_device(device)->failed_auth_count == 3);
    CHECK(repo.auth_strings.auth_string_hash(device).has_value());

    // An administrator sets a new one: the lockout is over.
    repo.auth_strings.set_auth_string_hash(device, hash_auth_string("777777", 1000),
                                           test::admin_actor);
    CHECK(store.check_auth_string(device, "777777").check == AuthStringCheck::accepted);
}

TEST_CASE("service: 50 concurrent wrong auth strings with lockout 5 get at most 5 comparisons") {
    test::TestDatabase db;  // a pool of 20 connections: the guesses really overlap
    test::Repositories repo(*db.pool);
    StorageDeviceStore store(*db.pool, settings("node-a", 5));
    repo.devices.add_device(phone(AuthMode::auth_string), test::admin_actor);
    repo.auth_strings.set_auth_string_hash(device, hash_auth_string("123456", 1000),
                                           test::admin_actor);

    std::atomic<int> compared{0}, locked_out{0}, other{0};
    std::vector<std::thread> guessers;
    for (int i = 0; i < 50; ++i) {
        guessers.emplace_back([&, i] {
            const std::string guess = std::to_string(100000 + i);  // never 123456
            switch (store.check_auth_string(device, guess).check) {
                case AuthStringCheck::mismatch:
                    ++compared;  // a hash was compared
                    break;
                case AuthStringCheck::locked_out:
                    ++locked_out;
                    break;
                default:
                    ++other;
            }
        });
    }
    for (auto& t : guessers)
        t.join();
    INFO("compared " << compared << ", locked out " << locked_out << ", other " << other);
    CHECK(compared == 5);
    CHECK(locked_out == 45);
    CHECK(other == 0);
    const auto d = repo.devices.find_device(device);
    CHECK(d->auth_locked);
    CHECK(d->failed_auth_count == 5);
    // The right string is refused until an administrator sets a new one.
    CHECK(store.check_auth_string(device, "123456").check == AuthStringCheck::locked_out);
    repo.auth_strings.set_auth_string_hash(device, hash_auth_string("424242", 1000),
                                           test::admin_actor);
    CHECK(store.check_auth_string(device, "424242").check == AuthStringCheck::accepted);
}

TEST_CASE("service: two sessions with the right auth string at once: one of them uses it") {
    test::TestDatabase db;
    test::Repositories repo(*db.pool);
    repo.devices.add_device(phone(AuthMode::auth_string), test::admin_actor);
    for (int round = 0; round < 20; ++round) {
        INFO("round " << round);
        repo.auth_strings.set_auth_string_hash(device, hash_auth_string("123456", 1000),
                                               test::admin_actor);
        schedule(repo, Operation::install);
        // Two processes (two nodes), so the in-process hold does not decide it.
        std::vector<std::unique_ptr<StorageDeviceStore>> nodes;
        for (int i = 0; i < 4; ++i)
            nodes.push_back(std::make_unique<StorageDeviceStore>(
                *db.pool, settings("node-" + std::to_string(i), 5)));
        std::atomic<int> claimed{0}, accepted{0};
        std::vector<std::thread> sessions;
        for (int i = 0; i < 4; ++i) {
            sessions.emplace_back([&, i] {
                auto& store = *nodes[static_cast<std::size_t>(i)];
                const auto verdict = store.check_auth_string(device, "123456");
                if (verdict.check != AuthStringCheck::accepted)
                    return;
                ++accepted;
                const ClaimExpectation expected{Operation::install, AuthMode::auth_string,
                                                verdict.matched_hash};
                const auto claim =
                    store.claim_operation(device, "node-" + std::to_string(i), expected).claim;
                if (!claim)
                    return;
                ++claimed;
                store.record_issued(*claim, certificate(round), peer);
                store.record_store_confirmed(*claim, certificate(round), peer);
            });
        }
        for (auto& t : sessions)
            t.join();
        CHECK(accepted >= 1);
        CHECK(claimed == 1);  // one session used it
        CHECK_FALSE(repo.auth_strings.auth_string_hash(device).has_value());
    }
}

TEST_CASE("service: an operation is claimed once while held and taken again after release") {
    test::TestDatabase db;
    test::Repositories repo(*db.pool);
    StorageDeviceStore store(*db.pool, settings());
    repo.devices.add_device(phone(AuthMode::null_string, "ec-p256"), test::admin_actor);

    // Nothing pending: no claim, and the device is not left marked as held.
    CHECK_FALSE(claim_as_now(store, repo, "node-a").has_value());

    schedule(repo, Operation::install);
    const auto before = std::chrono::system_clock::now();
    const auto claim = claim_as_now(store, repo, "node-a");
    REQUIRE(claim.has_value());
    CHECK(claim->device == device);
    CHECK(claim->operation == Operation::install);
    CHECK(claim->auth_mode == AuthMode::null_string);
    CHECK(claim->key_spec == "ec-p256");
    CHECK(claim->node == "node-a");
    // The lease of the settings (10 minutes), give or take clock skew.
    CHECK(claim->lease_expires_at > before + 9min);
    CHECK(claim->lease_expires_at < before + 11min);
    CHECK(repo.devices.find_device(device)->lease_owner == "node-a");

    // A second session of this process while the first holds it.
    CHECK_FALSE(claim_as_now(store, repo, "node-a").has_value());
    // Another node, while the lease runs.
    StorageDeviceStore other(*db.pool, settings("node-b"));
    CHECK_FALSE(claim_as_now(other, repo, "node-b").has_value());

    // The session ended without an outcome (e.g. the phone hung up): this
    // node takes its own unexpired lease back at once.
    store.release_claim(*claim);
    const auto again = claim_as_now(store, repo, "node-a");
    REQUIRE(again.has_value());
    CHECK(again->operation == Operation::install);
    CHECK_FALSE(claim_as_now(store, repo, "node-a").has_value());
    CHECK_FALSE(claim_as_now(other, repo, "node-b").has_value());
}

TEST_CASE("service: an issued LSC becomes current when the phone stores it, the peer audited") {
    test::TestDatabase db;
    test::Repositories repo(*db.pool);
    StorageDeviceStore store(*db.pool, settings());
    repo.devices.add_device(phone(), test::admin_actor);
    schedule(repo, Operation::install);
    const auto claim = claim_as_now(store, repo, "node-a");
    REQUIRE(claim.has_value());
    const auto cert = certificate();

    store.record_issued(*claim, cert, peer);
    CHECK_FALSE(
        repo.devices.find_device(device)->lsc.has_value());  // not until the phone stores it
    CHECK(repo.certificates.issued_certificates(device) ==
          std::vector<std::pair<std::string, bool>>{{cert.serial_hex, false}});
    const auto issued = audit_event(repo, "install", "issued");
    REQUIRE(issued.has_value());
    CHECK(issued->peer == peer);
    CHECK(issued->node == "node-a");

    store.record_store_confirmed(*claim, cert, peer);
    const auto d = repo.devices.find_device(device);
    REQUIRE(d.has_value());
    REQUIRE(d->lsc.has_value());
    CHECK(d->lsc->serial_hex == cert.serial_hex);
    CHECK(d->lsc->md5_hex == cert.md5_hex);
    CHECK(d->lsc->der == cert.der);
    CHECK(d->lsc->public_key_der == cert.public_key_der);
    CHECK(d->pending_operation == Operation::none);
    CHECK(d->operation_status == storage::OperationStatus::succeeded);
    CHECK_FALSE(d->lease_owner.has_value());
    CHECK(repo.certificates.issued_certificates(device) ==
          std::vector<std::pair<std::string, bool>>{{cert.serial_hex, true}});
    const auto stored = audit_event(repo, "install", "succeeded");
    REQUIRE(stored.has_value());
    CHECK(stored->peer == peer);
    CHECK(stored->node == "node-a");
    CHECK_THAT(stored->detail, Catch::Contains(cert.md5_hex));
}

TEST_CASE("service: a failure is recorded with its reason, the operation stays pending") {
    test::TestDatabase db;
    test::Repositories repo(*db.pool);
    StorageDeviceStore store(*db.pool, settings());
    repo.devices.add_device(phone(), test::admin_actor);
    schedule(repo, Operation::install);
    const auto claim = claim_as_now(store, repo, "node-a");
    REQUIRE(claim.has_value());

    store.record_failure(*claim, "keygen_timeout", peer);
    const auto d = repo.devices.find_device(device);
    REQUIRE(d.has_value());
    CHECK(d->operation_status == storage::OperationStatus::failed);
    CHECK(d->operation_reason == "keygen_timeout");
    CHECK(d->pending_operation == Operation::install);
    CHECK_FALSE(d->lease_owner.has_value());
    CHECK_FALSE(d->lsc.has_value());
    const auto failed = audit_event(repo, "install", "failed");
    REQUIRE(failed.has_value());
    CHECK(failed->detail == "keygen_timeout");
    CHECK(failed->peer == peer);
}

TEST_CASE("service: an unreachable database makes the store throw StoreUnavailable") {
    storage::PoolOptions options;
    options.connection_string = "host=127.0.0.1 port=1 dbname=capf user=capf";
    options.size = 1;
    options.acquire_timeout = 1s;
    options.connect_timeout_seconds = 1;
    storage::ConnectionPool pool(options);
    StorageDeviceStore store(pool, settings());

    CHECK_THROWS_AS(store.find_device(device), StoreUnavailable);
    CHECK_THROWS_AS(store.check_auth_string(device, "123456"), StoreUnavailable);
    const ClaimExpectation install{Operation::install, AuthMode::null_string, std::nullopt};
    CHECK_THROWS_AS(store.claim_operation(device, "node-a", install), StoreUnavailable);
    // The failed claim left nothing held: the next one asks the database again.
    CHECK_THROWS_AS(store.claim_operation(device, "node-a", install), StoreUnavailable);
}

TEST_CASE("service: other storage errors pass through unchanged") {
    test::TestDatabase db;
    test::Repositories repo(*db.pool);
    StorageDeviceStore store(*db.pool, settings());
    repo.devices.add_device(phone(), test::admin_actor);
    schedule(repo, Operation::install);
    const auto claim = claim_as_now(store, repo, "node-a");
    REQUIRE(claim.has_value());
    repo.schedule.cancel_operation(device,
                                   test::admin_actor);  // the lease is gone with the operation
    CHECK(test::storage_error_of([&] { store.record_failure(*claim, "x", peer); }) ==
          storage::StorageErrc::lease_lost);
}

TEST_CASE("service: operation_lease covers every key-generation attempt, the reads and a minute") {
    Config config;
    config.keygen.timeout = 2min;
    config.keygen.retries = 2;
    config.limits.read_timeout = 45s;
    // 2 min * 3 attempts + 4 * 45 s + 1 min
    CHECK(operation_lease(config) == 600s);

    config.keygen.retries = 3;
    CHECK(operation_lease(config) == 720s);
    config.keygen.retries = 0;
    CHECK(operation_lease(config) == 360s);

    const Config defaults;  // 30 min * 4 + 4 * 60 s + 1 min
    CHECK(operation_lease(defaults) == std::chrono::seconds(125 * 60));
}

}  // namespace service_device_store_test_cases
