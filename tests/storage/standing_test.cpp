// Issue 11 against a real PostgreSQL: which certificates still authenticate,
// claims bound to what the session authenticated against, auth strings used
// up only on success, rate-limited audit rows and database timeouts. Each
// test is named for the attack it stops.
#include <catch2/catch.hpp>
#include <map>
#include <thread>

#include "storage/error.hpp"
#include "tests/storage/pg_test_support.hpp"
#include "tests/storage/repositories.hpp"

// The file's own namespace: the suite is compiled in unity batches, and its
// file-local names must not meet another file's.
namespace standing_test_cases {

using namespace capf;
using namespace capf::storage;
using namespace std::chrono_literals;

namespace {

const std::string device_name = "SEP001122334455";
const std::string phone_address = "10.0.0.7:5000";

DeviceSettings phone(const std::string& name, AuthMode mode = AuthMode::null_string) {
    return DeviceSettings{name, "lobby phone", mode, "rsa-2048"};
}

IssuedCertificateRecord cert(const std::string& serial) {
    const auto now = std::chrono::system_clock::now();
    return IssuedCertificateRecord{
        serial,
        Bytes{0x30, 0x82, 0x01, static_cast<std::uint8_t>(serial.size())},
        now,
        now + std::chrono::hours(24 * 365),
        Bytes{0x30, 0x59, 0x01},
        std::string(32, 'a')};
}

OperationClaim schedule_and_claim(test::Repositories& repo, Operation op,
                                  const std::string& device = device_name) {
    repo.schedule.schedule_operation(device, ScheduleRequest{op, {}, {}, {}}, test::admin_actor);
    return *repo.claims.claim_pending_operation(device, "node-a", 60s);
}

/// An install the phone confirmed: `serial` becomes the device's LSC.
void install(test::Repositories& repo, const std::string& serial,
             const std::string& device = device_name) {
    const auto claim = schedule_and_claim(repo, Operation::install, device);
    repo.outcomes.record_certificate_issued(claim, cert(serial), phone_address);
    repo.outcomes.record_store_confirmed(claim, cert(serial), phone_address);
}

/// The events of one kind ("event/outcome") recorded for the device.
std::vector<AuditEvent> events_of(test::Repositories& repo, const std::string& kind,
                                  const std::string& device = device_name) {
    std::vector<AuditEvent> out;
    for (const auto& e : repo.audit.audit_events(AuditQuery{device, {}, 1000})) {
        if (e.event + "/" + e.outcome == kind)
            out.push_back(e);
    }
    return out;
}

}  // namespace

TEST_CASE("storage: migration 3 keeps a reason with every revocation and widens trust roles") {
    test::TestDatabase db;
    test::Repositories repo(*db.pool);
    repo.devices.add_device(phone(device_name), test::admin_actor);
    install(repo, "c1");
    CHECK(test::storage_error_of([&] {
              db.pool->transact([](pqxx::work& txn) {
                  txn.exec0("UPDATE issued_certificates SET revoked_at = now()");
              });
          }) == StorageErrc::invalid_value);
    CHECK(test::storage_error_of([&] {
              db.pool->transact([](pqxx::work& txn) {
                  txn.exec0(
                      "UPDATE issued_certificates SET revoked_at = now(), revoked_reason = 'lost'");
              });
          }) == StorageErrc::invalid_value);
    for (const std::string role : {"sudi-root", "intermediate"}) {
        db.pool->transact([&](pqxx::work& txn) {
            txn.exec_params0(R"SQL(
                INSERT INTO trust_anchors (role, sha256, der, subject) VALUES ($1, $2, '\x30', 'x')
            )SQL",
                             role, std::string(64, 'a'));
        });
    }
    CHECK(test::storage_error_of([&] {
              db.pool->transact([](pqxx::work& txn) {
                  txn.exec0(R"SQL(
                INSERT INTO trust_anchors (role, sha256, der, subject)
                VALUES ('anything', repeat('b', 64), '\x30', 'x')
            )SQL");
              });
          }) == StorageErrc::invalid_value);
}

TEST_CASE("storage: a superseded certificate's standing is superseded") {
    test::TestDatabase db;
    test::Repositories repo(*db.pool);
    repo.devices.add_device(phone(device_name), test::admin_actor);
    repo.devices.add_device(phone("SEP00000000BEEF"), test::admin_actor);
    install(repo, "c1");
    CHECK(repo.certificates.certificate_standing(device_name, "c1") ==
          CertificateStanding::current);
    install(repo, "c2");
    CHECK(repo.certificates.certificate_standing(device_name, "c1") ==
          CertificateStanding::superseded);
    CHECK(repo.certificates.certificate_standing(device_name, "C2") ==
          CertificateStanding::current);
    // Issued and sent, never confirmed: the outcome is unknown.
    const auto claim = schedule_and_claim(repo, Operation::install);
    repo.outcomes.record_certificate_issued(claim, cert("c3"), phone_address);
    CHECK(repo.certificates.certificate_standing(device_name, "c3") ==
          CertificateStanding::unknown_outcome);
    // Another device's certificate, or one never issued, is not this device's.
    CHECK(repo.certificates.certificate_standing("SEP00000000BEEF", "c2") ==
          CertificateStanding::not_issued);
    CHECK(repo.certificates.certificate_standing(device_name, "dead") ==
          CertificateStanding::not_issued);
    CHECK(repo.certificates.certificate_standing("SEP0000000F00D0", "c2") ==
          CertificateStanding::not_issued);
    CHECK(to_text(CertificateStanding::unknown_outcome) == "unknown-outcome");
    CHECK(to_text(CertificateStanding::not_issued) == "not-issued");
    CHECK(test::storage_error_of([&] {
              repo.certificates.certificate_standing(device_name, "xyz");
          }) == StorageErrc::invalid_value);
}

TEST_CASE("storage: a certificate the phone refused is revoked as refused") {
    test::TestDatabase db;
    test::Repositories repo(*db.pool);
    repo.devices.add_device(phone(device_name), test::admin_actor);
    install(repo, "c1");
    const auto claim = schedule_and_claim(repo, Operation::install);
    repo.outcomes.record_certificate_issued(claim, cert("c2"), phone_address);
    repo.outcomes.record_store_refused(claim, "c2", "phone refused the certificate: status 2",
                                       phone_address);

    CHECK(repo.certificates.certificate_standing(device_name, "c2") ==
          CertificateStanding::refused);
    CHECK(repo.certificates.certificate_standing(device_name, "c1") ==
          CertificateStanding::current);
    const auto d = *repo.devices.find_device(device_name);
    CHECK(d.lsc->serial_hex == "c1");
    // Recorded exactly as a failure: pending for a retry, lease released.
    CHECK(d.pending_operation == Operation::install);
    CHECK(d.operation_status == OperationStatus::failed);
    CHECK(d.operation_reason == "phone refused the certificate: status 2");
    CHECK_FALSE(d.lease_owner.has_value());
    const auto failed = events_of(repo, "install/failed");
    REQUIRE(failed.size() == 1);
    CHECK(failed[0].detail == "phone refused the certificate: status 2");
    CHECK(failed[0].peer == phone_address);
    // A lost lease refuses and revokes nothing.
    const auto next = *repo.claims.claim_pending_operation(device_name, "node-a", 60s);
    repo.outcomes.record_certificate_issued(next, cert("c3"), phone_address);
    auto stale = next;
    stale.node = "node-b";
    CHECK(test::storage_error_of([&] {
              repo.outcomes.record_store_refused(stale, "c3", "x", phone_address);
          }) == StorageErrc::lease_lost);
    CHECK(repo.certificates.certificate_standing(device_name, "c3") ==
          CertificateStanding::unknown_outcome);
}

TEST_CASE("storage: delete revokes every certificate of the device") {
    test::TestDatabase db;
    test::Repositories repo(*db.pool);
    repo.devices.add_device(phone(device_name), test::admin_actor);
    repo.devices.add_device(phone("SEP00000000BEEF"), test::admin_actor);
    install(repo, "c1");
    install(repo, "b1", "SEP00000000BEEF");
    auto claim = schedule_and_claim(repo, Operation::install);
    repo.outcomes.record_certificate_issued(claim, cert("c2"), phone_address);  // outcome unknown
    repo.schedule.cancel_operation(device_name, test::admin_actor);
    claim = schedule_and_claim(repo, Operation::remove);
    repo.outcomes.record_delete_confirmed(claim, phone_address);

    CHECK(repo.certificates.certificate_standing(device_name, "c1") ==
          CertificateStanding::deleted);
    CHECK(repo.certificates.certificate_standing(device_name, "c2") ==
          CertificateStanding::deleted);
    CHECK(repo.certificates.certificate_standing("SEP00000000BEEF", "b1") ==
          CertificateStanding::current);
    for (const auto& c : repo.certificates.list_certificates(device_name)) {
        CHECK(c.revoked_reason == "deleted");
        CHECK(c.revoked_at.has_value());
    }
}

TEST_CASE(
    "storage: confirming an unknown-outcome certificate makes it current and completes the "
    "install") {
    test::TestDatabase db;
    test::Repositories repo(*db.pool);
    repo.devices.add_device(phone(device_name), test::admin_actor);
    install(repo, "c1");
    // The phone stored c2, then capfd died before recording it.
    const auto claim = schedule_and_claim(repo, Operation::install);
    repo.outcomes.record_certificate_issued(claim, cert("c2"), phone_address);

    const Bytes presented_key{0x30, 0x59, 0x42};
    const auto confirmed = repo.certificates.confirm_presented_certificate(
        device_name, "c2", presented_key, phone_address);
    CHECK(confirmed.confirmed);
    CHECK(confirmed.completed_install);
    const auto d = *repo.devices.find_device(device_name);
    REQUIRE(d.lsc.has_value());
    CHECK(d.lsc->serial_hex == "c2");
    CHECK(d.lsc->der == cert("c2").der);
    CHECK(d.lsc->md5_hex == std::string(32, 'a'));
    CHECK(d.lsc->public_key_der == presented_key);
    CHECK(d.pending_operation == Operation::none);
    CHECK(d.operation_status == OperationStatus::succeeded);
    CHECK(d.operation_reason == "lsc confirmed on next contact");
    CHECK_FALSE(d.lease_owner.has_value());
    CHECK(repo.certificates.certificate_standing(device_name, "c2") ==
          CertificateStanding::current);
    CHECK(repo.certificates.certificate_standing(device_name, "c1") ==
          CertificateStanding::superseded);
    const auto audited = events_of(repo, "certificate/confirmed");
    REQUIRE(audited.size() == 1);
    CHECK(audited[0].detail ==
          "serial c2, presented by the phone; this completed the pending install");
    CHECK(audited[0].peer == phone_address);
    // Confirming again changes nothing: it is current now.
    CHECK_FALSE(repo.certificates
                    .confirm_presented_certificate(device_name, "c2", presented_key, phone_address)
                    .confirmed);
}

TEST_CASE("storage: confirming leaves an install scheduled after the certificate pending") {
    test::TestDatabase db;
    test::Repositories repo(*db.pool);
    repo.devices.add_device(phone(device_name), test::admin_actor);
    const auto claim = schedule_and_claim(repo, Operation::install);
    repo.outcomes.record_certificate_issued(claim, cert("c1"), phone_address);
    std::this_thread::sleep_for(10ms);
    // The administrator asked for a new certificate after c1 was issued.
    repo.schedule.schedule_operation(device_name, ScheduleRequest{Operation::install, {}, {}, {}},
                                     test::admin_actor);
    const auto confirmed = repo.certificates.confirm_presented_certificate(
        device_name, "c1", Bytes{0x30}, phone_address);
    CHECK(confirmed.confirmed);
    CHECK_FALSE(confirmed.completed_install);
    const auto d = *repo.devices.find_device(device_name);
    CHECK(d.lsc->serial_hex == "c1");
    CHECK(d.pending_operation == Operation::install);
    CHECK(d.operation_status == OperationStatus::pending);
    CHECK(events_of(repo, "certificate/confirmed").at(0).detail ==
          "serial c1, presented by the phone");
}

TEST_CASE("storage: confirming a superseded certificate changes nothing") {
    test::TestDatabase db;
    test::Repositories repo(*db.pool);
    repo.devices.add_device(phone(device_name), test::admin_actor);
    repo.devices.add_device(phone("SEP00000000BEEF"), test::admin_actor);
    install(repo, "c1");
    install(repo, "c2");
    const auto claim = schedule_and_claim(repo, Operation::install);
    repo.outcomes.record_certificate_issued(claim, cert("c3"), phone_address);
    repo.certificates.revoke_certificate("c3", test::admin_actor);
    const auto before = *repo.devices.find_device(device_name);

    for (const std::string serial : {"c1", "c2", "c3", "dead"}) {
        INFO(serial);
        const auto r = repo.certificates.confirm_presented_certificate(device_name, serial,
                                                                       Bytes{0x30}, phone_address);
        CHECK_FALSE(r.confirmed);
        CHECK_FALSE(r.completed_install);
    }
    // Not this device's certificate either.
    CHECK_FALSE(
        repo.certificates
            .confirm_presented_certificate("SEP00000000BEEF", "c3", Bytes{0x30}, phone_address)
            .confirmed);
    const auto after = *repo.devices.find_device(device_name);
    CHECK(after.lsc->serial_hex == "c2");
    CHECK(after.lsc->public_key_der == before.lsc->public_key_der);
    CHECK(after.pending_operation == Operation::install);
    CHECK(after.lease_owner == before.lease_owner);
    CHECK(repo.certificates.certificate_standing(device_name, "c1") ==
          CertificateStanding::superseded);
    CHECK(repo.certificates.certificate_standing(device_name, "c3") ==
          CertificateStanding::revoked);
    CHECK(events_of(repo, "certificate/confirmed").empty());
}

TEST_CASE(
    "storage: an administrator revokes a certificate, and a second revoke says when and why") {
    test::TestDatabase db;
    test::Repositories repo(*db.pool);
    repo.devices.add_device(phone(device_name), test::admin_actor);
    install(repo, "c1");
    install(repo, "c2");
    repo.certificates.revoke_certificate("C2", "uid 0 pid 9");
    CHECK(repo.certificates.certificate_standing(device_name, "c2") ==
          CertificateStanding::revoked);
    CHECK(repo.devices.find_device(device_name)->lsc->serial_hex == "c2");  // the record stays
    const auto audited = events_of(repo, "certificate/revoked");
    REQUIRE(audited.size() == 1);
    CHECK(audited[0].detail == "serial c2");
    CHECK(audited[0].peer == "uid 0 pid 9");

    try {
        repo.certificates.revoke_certificate("c1", test::admin_actor);
        FAIL("revoking a superseded certificate was accepted");
    } catch (const StorageError& e) {
        CHECK(e.code() == StorageErrc::invalid_value);
        CHECK_THAT(std::string(e.what()),
                   Catch::Contains("already revoked at 20") && Catch::Contains("(superseded)"));
    }
    CHECK(test::storage_error_of([&] {
              repo.certificates.revoke_certificate("ffff", test::admin_actor);
          }) == StorageErrc::not_found);
    CHECK(events_of(repo, "certificate/revoked").size() == 1);

    const auto listed = repo.certificates.list_certificates(device_name);
    REQUIRE(listed.size() == 2);
    CHECK(listed[0].serial_hex == "c2");  // newest first
    CHECK(listed[0].standing == CertificateStanding::revoked);
    CHECK(listed[0].revoked_reason == "revoked");
    CHECK(listed[0].confirmed);
    CHECK(listed[0].node == "node-a");
    CHECK(listed[1].serial_hex == "c1");
    CHECK(listed[1].standing == CertificateStanding::superseded);
    CHECK(listed[1].issued_at <= listed[0].issued_at);
    repo.devices.add_device(phone("SEP00000000BEEF"), test::admin_actor);
    CHECK(repo.certificates.list_certificates("SEP00000000BEEF").empty());
    CHECK(test::storage_error_of([&] { repo.certificates.list_certificates("SEP0000000F00D0"); }) ==
          StorageErrc::not_found);
}

namespace {

struct BoundClaimFixture {
    test::TestDatabase db;
    test::Repositories repo{*db.pool};
    const std::string hash = "$pbkdf2$1$salt$one";
    /// What the session authenticated against: install under auth-string.
    ClaimExpectation expected{Operation::install, AuthMode::auth_string, hash};

    BoundClaimFixture() {
        repo.devices.add_device(phone(device_name, AuthMode::auth_string), test::admin_actor);
        repo.schedule.schedule_operation(
            device_name, ScheduleRequest{Operation::install, {}, {}, {}}, test::admin_actor);
        repo.auth_strings.set_auth_string_hash(device_name, hash, test::admin_actor);
    }
    ClaimOutcome claim() {
        return repo.claims.claim_pending_operation(device_name, "node-a", 60s, expected);
    }
    void require_nothing_claimed() {
        const auto d = *repo.devices.find_device(device_name);
        CHECK_FALSE(d.lease_owner.has_value());
        CHECK(d.operation_status == OperationStatus::pending);
    }
};

}  // namespace

TEST_CASE(
    "storage: a claim under auth-string is refused as operation_changed after the mode "
    "became mic") {
    BoundClaimFixture f;
    f.repo.devices.update_device(phone(device_name, AuthMode::mic), test::admin_actor);
    const auto outcome = f.claim();
    CHECK(outcome.status == ClaimOutcome::Status::operation_changed);
    CHECK_FALSE(outcome.claim.has_value());
    CHECK(outcome.detail == "auth mode is now mic, authenticated as auth-string");
    f.require_nothing_claimed();
}

TEST_CASE(
    "storage: a claim under auth-string is refused as operation_changed after the "
    "operation changed") {
    BoundClaimFixture f;
    f.repo.schedule.schedule_operation(device_name, ScheduleRequest{Operation::remove, {}, {}, {}},
                                       test::admin_actor);
    const auto outcome = f.claim();
    CHECK(outcome.status == ClaimOutcome::Status::operation_changed);
    CHECK_FALSE(outcome.claim.has_value());
    CHECK(outcome.detail == "operation is now delete, authenticated for install");
    f.require_nothing_claimed();
}

TEST_CASE(
    "storage: a claim under auth-string is refused as operation_changed after a new auth "
    "string was set") {
    BoundClaimFixture f;
    f.repo.auth_strings.set_auth_string_hash(device_name, "$pbkdf2$1$salt$two", test::admin_actor);
    auto outcome = f.claim();
    CHECK(outcome.status == ClaimOutcome::Status::operation_changed);
    CHECK(outcome.detail == "a new auth string was set");
    f.require_nothing_claimed();
    f.repo.auth_strings.clear_auth_string(device_name, test::admin_actor);
    outcome = f.claim();
    CHECK(outcome.status == ClaimOutcome::Status::operation_changed);
    CHECK(outcome.detail == "the auth string was removed");
    f.require_nothing_claimed();
}

TEST_CASE("storage: a bound claim with nothing changed carries its auth string, others wait") {
    BoundClaimFixture f;
    const auto outcome = f.claim();
    REQUIRE(outcome.status == ClaimOutcome::Status::claimed);
    REQUIRE(outcome.claim.has_value());
    CHECK(outcome.claim->auth_string_hash == f.hash);
    CHECK(outcome.claim->operation == Operation::install);
    CHECK(outcome.detail.empty());
    // Another node while the lease is held; this node only with take_own_lease.
    CHECK(f.repo.claims.claim_pending_operation(device_name, "node-b", 60s, f.expected).status ==
          ClaimOutcome::Status::held_elsewhere);
    CHECK(f.repo.claims.claim_pending_operation(device_name, "node-a", 60s, f.expected).status ==
          ClaimOutcome::Status::held_elsewhere);
    CHECK(f.repo.claims.claim_pending_operation(device_name, "node-a", 60s, f.expected, true)
              .status == ClaimOutcome::Status::claimed);
    // Nothing pending once it is done (and the auth string is used up).
    f.repo.outcomes.record_certificate_issued(*outcome.claim, cert("c1"), phone_address);
    f.repo.outcomes.record_store_confirmed(*outcome.claim, cert("c1"), phone_address);
    ClaimExpectation after{Operation::none, AuthMode::auth_string, std::nullopt};
    CHECK(f.repo.claims.claim_pending_operation(device_name, "node-a", 60s, after).status ==
          ClaimOutcome::Status::nothing_pending);
    CHECK(f.repo.claims.claim_pending_operation("SEP0000000F00D0", "node-a", 60s, after).status ==
          ClaimOutcome::Status::nothing_pending);
}

TEST_CASE("storage: a failed operation does not use up the auth string") {
    BoundClaimFixture f;
    auto claim = *f.claim().claim;
    f.repo.outcomes.record_failure(claim, "keygen_failed", phone_address);
    CHECK(f.repo.auth_strings.auth_string_hash(device_name) == f.hash);
    claim = *f.claim().claim;  // the phone retries with the same string
    f.repo.outcomes.record_certificate_issued(claim, cert("c1"), phone_address);
    f.repo.outcomes.record_store_refused(claim, "c1", "phone refused the certificate",
                                         phone_address);
    CHECK(f.repo.auth_strings.auth_string_hash(device_name) == f.hash);
    CHECK(events_of(f.repo, "auth_string/used").empty());
    CHECK(f.claim().status == ClaimOutcome::Status::claimed);
}

TEST_CASE("storage: a successful install uses up the auth string it claimed with") {
    BoundClaimFixture f;
    // Two wrong guesses, then the right one.
    for (int i = 0; i < 3; ++i)
        f.repo.auth_strings.begin_auth_string_attempt(device_name, 5);
    CHECK(f.repo.auth_strings.acknowledge_auth_string_match(device_name, f.hash));
    CHECK(f.repo.auth_strings.auth_string_hash(device_name) == f.hash);  // not yet used up
    CHECK(f.repo.devices.find_device(device_name)->failed_auth_count == 0);
    const auto claim = *f.claim().claim;
    f.repo.outcomes.record_certificate_issued(claim, cert("c1"), phone_address);
    f.repo.outcomes.record_store_confirmed(claim, cert("c1"), phone_address);
    CHECK_FALSE(f.repo.auth_strings.auth_string_hash(device_name).has_value());
    const auto used = events_of(f.repo, "auth_string/used");
    REQUIRE(used.size() == 1);
    CHECK(used[0].peer == phone_address);
    CHECK(used[0].node == "node-a");
}

TEST_CASE("storage: a successful operation keeps a new auth string set while it ran") {
    BoundClaimFixture f;
    f.repo.schedule.schedule_operation(device_name, ScheduleRequest{Operation::fetch, {}, {}, {}},
                                       test::admin_actor);
    f.expected.operation = Operation::fetch;
    const auto claim = *f.claim().claim;
    f.repo.auth_strings.set_auth_string_hash(device_name, "$pbkdf2$1$salt$two", test::admin_actor);
    f.repo.outcomes.record_fetched_certificate(claim, Bytes{0x30}, std::string(32, 'b'),
                                               Bytes{0x30}, phone_address);
    CHECK(f.repo.auth_strings.auth_string_hash(device_name) == "$pbkdf2$1$salt$two");
    CHECK(events_of(f.repo, "auth_string/used").empty());
}

TEST_CASE("storage: a successful delete uses up the auth string it claimed with") {
    BoundClaimFixture f;
    f.repo.schedule.schedule_operation(device_name, ScheduleRequest{Operation::remove, {}, {}, {}},
                                       test::admin_actor);
    f.expected.operation = Operation::remove;
    f.repo.outcomes.record_delete_confirmed(*f.claim().claim, phone_address);
    CHECK_FALSE(f.repo.auth_strings.auth_string_hash(device_name).has_value());
}

TEST_CASE("storage: a matching string neither unlocks a device nor survives a new string") {
    BoundClaimFixture f;
    for (int i = 0; i < 3; ++i)
        f.repo.auth_strings.begin_auth_string_attempt(device_name, 3);
    REQUIRE(f.repo.devices.find_device(device_name)->auth_locked);
    CHECK(f.repo.auth_strings.acknowledge_auth_string_match(device_name, f.hash));
    CHECK(f.repo.devices.find_device(device_name)->auth_locked);
    CHECK(f.claim().status == ClaimOutcome::Status::nothing_pending);
    CHECK_FALSE(
        f.repo.auth_strings.acknowledge_auth_string_match(device_name, "$pbkdf2$1$salt$other"));
}

TEST_CASE("storage: an administrator unlocks a locked auth string, keeping the string") {
    BoundClaimFixture f;
    for (int i = 0; i < 3; ++i)
        f.repo.auth_strings.begin_auth_string_attempt(device_name, 3);
    REQUIRE(f.repo.auth_strings.begin_auth_string_attempt(device_name, 3).status ==
            AuthStringAttempt::Status::locked_out);
    f.repo.auth_strings.unlock_auth_string(device_name, "uid 0 pid 5");
    const auto d = *f.repo.devices.find_device(device_name);
    CHECK_FALSE(d.auth_locked);
    CHECK(d.failed_auth_count == 0);
    CHECK(f.repo.auth_strings.auth_string_hash(device_name) == f.hash);
    CHECK(f.repo.auth_strings.begin_auth_string_attempt(device_name, 3).status ==
          AuthStringAttempt::Status::compare);
    const auto audited = events_of(f.repo, "auth_string/unlocked");
    REQUIRE(audited.size() == 1);
    CHECK(audited[0].peer == "uid 0 pid 5");
    CHECK(test::storage_error_of([&] {
              f.repo.auth_strings.unlock_auth_string("SEP0000000F00D0", test::admin_actor);
          }) == StorageErrc::not_found);
}

TEST_CASE(
    "storage: repeated unknown-device audits from one source within a minute are one row "
    "with a count") {
    test::TestDatabase db;
    test::Repositories repo(*db.pool);
    // Keep the burst inside one minute of the database's clock.
    double second = 0;
    db.pool->transact([&](pqxx::work& txn) {
        second = txn.exec1("SELECT extract(second FROM now())")[0].as<double>();
    });
    if (second > 50)
        std::this_thread::sleep_for(
            std::chrono::milliseconds(static_cast<long long>((61 - second) * 1000)));
    const AuditEvent unknown{"",        "10.6.6.6",       "node-a",    "authentication",
                             "refused", "unknown device", std::nullopt};
    for (int i = 0; i < 25; ++i)
        repo.audit.append_rate_limited_audit(unknown);
    auto other = unknown;
    other.peer = "10.6.6.7";
    repo.audit.append_rate_limited_audit(other);
    auto other_cause = unknown;
    other_cause.detail = "invalid device name";
    repo.audit.append_rate_limited_audit(other_cause);
    // A known device named by an unauthenticated peer: counted per device.
    auto named = unknown;
    named.detail = "auth_string_mismatch";
    for (const char* device : {"SEP001122334455", "SEP001122334455", "SEP00AABBCCDDEE"}) {
        named.device = device;
        repo.audit.append_rate_limited_audit(named);
    }

    const auto events = repo.audit.audit_events(AuditQuery{"", {}, 100});
    REQUIRE(events.size() == 5);
    std::map<std::string, std::size_t> counts;
    for (const auto& e : events)
        counts[e.device + " " + e.peer + " " + e.detail] = e.repeat_count;
    CHECK(counts ==
          std::map<std::string, std::size_t>{{" 10.6.6.6 unknown device", 25},
                                             {" 10.6.6.6 invalid device name", 1},
                                             {" 10.6.6.7 unknown device", 1},
                                             {"SEP001122334455 10.6.6.6 auth_string_mismatch", 2},
                                             {"SEP00AABBCCDDEE 10.6.6.6 auth_string_mismatch", 1}});
    // Ordinary events are never merged.
    repo.audit.append_audit(unknown);
    repo.audit.append_audit(unknown);
    CHECK(repo.audit.audit_events(AuditQuery{"", {}, 100}).size() == 7);
    CHECK(test::storage_error_of([&] { repo.audit.append_rate_limited_audit(AuditEvent{}); }) ==
          StorageErrc::invalid_value);
}

TEST_CASE(
    "storage: a statement waiting on a lock longer than lock_timeout fails with "
    "StorageErrc::timeout") {
    test::TestDatabase db;
    Devices(*db.pool).add_device(phone(device_name), test::admin_actor);
    PoolOptions options{db.conninfo(), 2};
    options.lock_timeout = 300ms;
    ConnectionPool pool(options);
    test::Repositories repo(pool);

    pqxx::connection holder(db.conninfo());
    pqxx::work holding(holder);
    holding.exec_params("SELECT 1 FROM devices WHERE name = $1 FOR UPDATE", device_name);
    const auto started = std::chrono::steady_clock::now();
    try {
        repo.devices.update_device(phone(device_name, AuthMode::lsc), test::admin_actor);
        FAIL("the update did not wait for the lock");
    } catch (const StorageError& e) {
        CHECK(e.code() == StorageErrc::timeout);
        CHECK_THAT(std::string(e.what()), Catch::Contains("lock_timeout (300 ms)"));
    }
    CHECK(std::chrono::steady_clock::now() - started < 5s);
    holding.abort();
    // The connection is usable again, and nothing was changed.
    CHECK(repo.devices.find_device(device_name)->auth_mode == AuthMode::null_string);
}

TEST_CASE(
    "storage: a statement running longer than statement_timeout fails with "
    "StorageErrc::timeout") {
    test::TestDatabase db;
    PoolOptions options{db.conninfo(), 1};
    options.statement_timeout = 200ms;
    ConnectionPool pool(options);
    try {
        pool.transact([](pqxx::work& txn) { txn.exec0("SELECT pg_sleep(3)"); });
        FAIL("the statement was not cancelled");
    } catch (const StorageError& e) {
        CHECK(e.code() == StorageErrc::timeout);
        CHECK_THAT(std::string(e.what()), Catch::Contains("statement_timeout (200 ms)"));
    }
    int one = 0;
    pool.transact([&](pqxx::work& txn) { one = txn.exec1("SELECT 1")[0].as<int>(); });
    CHECK(one == 1);
    // 0 turns the limits off.
    PoolOptions off{db.conninfo(), 1};
    off.statement_timeout = 0ms;
    off.lock_timeout = 0ms;
    ConnectionPool unlimited(off);
    std::string setting;
    unlimited.transact([&](pqxx::work& txn) {
        setting = txn.exec1("SELECT current_setting('statement_timeout')")[0].as<std::string>();
    });
    CHECK(setting == "0");
}

TEST_CASE("storage: require_sudi is kept by add, bulk add, update, find and list, and audited") {
    test::TestDatabase db;
    test::Repositories repo(*db.pool);
    auto strict = phone(device_name);
    strict.require_sudi = true;
    CHECK(repo.devices.add_device(strict, "uid 0 pid 1").require_sudi);
    auto bulk_strict = phone("SEP0000000000B1");
    bulk_strict.require_sudi = true;
    CHECK(repo.devices.add_devices({bulk_strict, phone("SEP0000000000B2")}, "uid 0 pid 2") == 2);
    CHECK(repo.devices.find_device("SEP0000000000B1")->require_sudi);
    CHECK_FALSE(repo.devices.find_device("SEP0000000000B2")->require_sudi);
    const auto page = repo.devices.list_devices({}, "", 10);
    REQUIRE(page.devices.size() == 3);
    CHECK(page.devices[2].name == device_name);
    CHECK(page.devices[2].require_sudi);
    CHECK_FALSE(repo.devices.update_device(phone(device_name), "uid 0 pid 3").require_sudi);
    CHECK_FALSE(repo.devices.find_device(device_name)->require_sudi);

    const auto added = events_of(repo, "device/added");
    REQUIRE(added.size() == 1);
    CHECK(added[0].detail == "auth_mode null-string, key_spec rsa-2048, require_sudi");
    CHECK(events_of(repo, "device/added", "SEP0000000000B1").at(0).detail ==
          "auth_mode null-string, key_spec rsa-2048, require_sudi");
    CHECK(events_of(repo, "device/added", "SEP0000000000B2").at(0).detail ==
          "auth_mode null-string, key_spec rsa-2048");
}

}  // namespace standing_test_cases
