// The delivery outbox (issue 12) against a real PostgreSQL: rows written
// with the change, claimed whole per device by one node, completed, failed
// and retried, requested on demand, counted.
#include <algorithm>
#include <atomic>
#include <catch2/catch.hpp>
#include <cstdio>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "storage/delivery_repository.hpp"
#include "storage/error.hpp"
#include "tests/storage/pg_test_support.hpp"
#include "tests/storage/repositories.hpp"

// The file's own namespace: the suite is compiled in unity batches, and its
// file-local names must not meet another file's.
namespace delivery_test_cases {

using namespace capf;
using namespace capf::storage;
using namespace std::chrono_literals;

namespace {

const std::string device_name = "SEP001122334455";

IssuedCertificateRecord cert(const std::string& serial, const std::string& md5) {
    const auto now = std::chrono::system_clock::now();
    return IssuedCertificateRecord{
        serial,
        Bytes{0x30, 0x82, 0x01, static_cast<std::uint8_t>(serial.size())},
        now,
        now + std::chrono::hours(24),
        Bytes{0x30, 0x59, 0x01},
        md5};
}

struct Outbox {
    test::TestDatabase db;
    test::Repositories repo{*db.pool};
    DeliveryRepository deliveries{*db.pool};

    void add(const std::string& name) {
        repo.devices.add_device(DeviceSettings{name, "", AuthMode::null_string, "rsa-2048"},
                                test::admin_actor);
    }
    OperationClaim claim(const std::string& name, Operation op) {
        repo.schedule.schedule_operation(name, ScheduleRequest{op, {}, {}, {}}, test::admin_actor);
        return *repo.claims.claim_pending_operation(name, "node-a", 60s);
    }
    void install(const std::string& name, const IssuedCertificateRecord& c) {
        const auto held = claim(name, Operation::install);
        repo.outcomes.record_certificate_issued(held, c, "10.0.0.1");
        repo.outcomes.record_store_confirmed(held, c, "10.0.0.1");
    }
    /// (change, delivered) of every outbox row of `name`, oldest first.
    std::vector<std::pair<std::string, bool>> rows(const std::string& name) {
        std::vector<std::pair<std::string, bool>> out;
        db.pool->transact([&](pqxx::work& txn) {
            for (const auto& r : txn.exec_params(R"SQL(
                SELECT change, delivered_at IS NOT NULL FROM deliveries
                WHERE device = $1 ORDER BY id
            )SQL",
                                                 name))
                out.emplace_back(r[0].as<std::string>(), r[1].as<bool>());
        });
        return out;
    }
    /// Runs `sql` (no parameters; fixed test text) to age leases or backoffs.
    void exec(const char* sql) {
        db.pool->transact([&](pqxx::work& txn) { txn.exec0(sql); });
    }
    std::size_t undelivered() {
        std::size_t n = 0;
        db.pool->transact([&](pqxx::work& txn) {
            n = txn.exec1(R"SQL(SELECT count(*) FROM deliveries WHERE delivered_at IS NULL)SQL")[0]
                    .as<std::size_t>();
        });
        return n;
    }
};

/// The worker's record of an attempt in which enc-sgn (the one encryptor
/// here) delivered: true when the rows are delivered.
bool delivered(Outbox& o, const DeliveryBatch& batch, const std::string& node) {
    DeliveryOutcome outcome;
    outcome.delivered = {"enc-sgn"};
    return o.deliveries.finish_delivery(batch, node, outcome, 0s) == DeliveryFinish::delivered;
}

/// ... in which enc-sgn failed with `error`, retried after `backoff`.
DeliveryFinish failed(Outbox& o, const DeliveryBatch& batch, const std::string& node,
                      const std::string& error, std::chrono::seconds backoff) {
    DeliveryOutcome outcome;
    outcome.failed = {{"enc-sgn", error}};
    return o.deliveries.finish_delivery(batch, node, outcome, backoff);
}

std::vector<std::string> kinds(const DeliveryBatch& batch) {
    std::vector<std::string> out;
    for (auto c : batch.changes)
        out.emplace_back(to_text(c));
    return out;
}

using Rows = std::vector<std::pair<std::string, bool>>;

}  // namespace

TEST_CASE("delivery: each recorded change enqueues exactly one row in its transaction") {
    Outbox o;
    o.add(device_name);
    CHECK(o.rows(device_name).empty());  // adding a device is no change for the TFTP side

    o.install(device_name, cert("a1", std::string(32, 'a')));
    CHECK(o.rows(device_name) == Rows{{"installed", false}});

    // A failure changes no certificate: nothing to deliver.
    auto held = o.claim(device_name, Operation::install);
    o.repo.outcomes.record_failure(held, "keygen_timeout", "10.0.0.1");
    held = o.claim(device_name, Operation::install);
    o.repo.outcomes.record_certificate_issued(held, cert("a9", std::string(32, '9')), "10.0.0.1");
    o.repo.outcomes.record_store_refused(held, "a9", "phone refused", "10.0.0.1");
    CHECK(o.rows(device_name).size() == 1);

    // A change the database refuses rolls its row back with it.
    held = o.claim(device_name, Operation::install);
    CHECK(test::storage_error_of([&] {
              o.repo.outcomes.record_store_confirmed(held, cert("a2", "NOT-HEX"), "");
          }) == StorageErrc::invalid_value);
    CHECK(o.rows(device_name).size() == 1);
    o.repo.outcomes.record_failure(held, "gave up", "");

    held = o.claim(device_name, Operation::fetch);
    o.repo.outcomes.record_fetched_certificate(held, Bytes{0x30, 0x01}, std::string(32, 'f'),
                                               Bytes{0x30, 0x02}, "10.0.0.1");
    held = o.claim(device_name, Operation::remove);
    o.repo.outcomes.record_delete_confirmed(held, "10.0.0.1");
    CHECK(o.rows(device_name) ==
          Rows{{"installed", false}, {"fetched", false}, {"deleted", false}});

    // A phone presenting its unknown-outcome certificate confirms it: installed.
    held = o.claim(device_name, Operation::install);
    o.repo.outcomes.record_certificate_issued(held, cert("b1", std::string(32, 'b')), "10.0.0.1");
    o.repo.outcomes.record_failure(held, "session cut", "10.0.0.1");
    CHECK(o.rows(device_name).size() == 3);
    CHECK(o.repo.certificates
              .confirm_presented_certificate(device_name, "b1", Bytes{0x30, 0x03}, "10.0.0.1")
              .confirmed);
    CHECK(o.rows(device_name).size() == 4);
    CHECK(o.rows(device_name).back().first == "installed");
    // Presenting it again changes nothing and enqueues nothing.
    CHECK_FALSE(o.repo.certificates
                    .confirm_presented_certificate(device_name, "b1", Bytes{0x30, 0x03}, "10.0.0.1")
                    .confirmed);
    CHECK(o.rows(device_name).size() == 4);
}

TEST_CASE("delivery: a claim carries the device's current facts and all its rows as one batch") {
    Outbox o;
    o.add(device_name);
    const auto first = cert("c1", std::string(32, '1'));
    const auto second = cert("c22", std::string(32, '2'));
    o.install(device_name, first);
    o.install(device_name, second);
    o.deliveries.request_delivery(device_name, test::admin_actor);

    auto batches = o.deliveries.claim_deliveries("node-a", 10, 60s);
    REQUIRE(batches.size() == 1);
    const auto& b = batches[0];
    CHECK(b.device == device_name);
    CHECK(kinds(b) == std::vector<std::string>{"installed", "installed", "requested"});
    CHECK(b.ids.size() == 3);
    CHECK(std::is_sorted(b.ids.begin(), b.ids.end()));
    CHECK(b.attempts == 0);
    CHECK(b.facts.name == device_name);
    CHECK(b.facts.key_spec == "rsa-2048");
    CHECK(b.facts.certificate_der == second.der);  // the current LSC, not the first
    CHECK(b.facts.public_key_der == second.public_key_der);
    CHECK(b.facts.md5_hex == second.md5_hex);
    // Held: nothing more to claim, by this node or another.
    CHECK(o.deliveries.claim_deliveries("node-b", 10, 60s).empty());
    CHECK(o.deliveries.claim_deliveries("node-a", 10, 60s).empty());
    CHECK(delivered(o, b, "node-a"));
    CHECK(o.rows(device_name) ==
          Rows{{"installed", true}, {"installed", true}, {"requested", true}});

    // Deleted: the facts are empty.
    auto held = o.claim(device_name, Operation::remove);
    o.repo.outcomes.record_delete_confirmed(held, "");
    batches = o.deliveries.claim_deliveries("node-a", 10, 60s);
    REQUIRE(batches.size() == 1);
    CHECK(kinds(batches[0]) == std::vector<std::string>{"deleted"});
    CHECK_FALSE(batches[0].facts.certificate_der.has_value());
    CHECK_FALSE(batches[0].facts.public_key_der.has_value());
    CHECK(batches[0].facts.md5_hex.empty());
    CHECK(delivered(o, batches[0], "node-a"));

    held = o.claim(device_name, Operation::fetch);
    o.repo.outcomes.record_fetched_certificate(held, Bytes{0x30, 0x05}, std::string(32, 'f'),
                                               Bytes{0x30, 0x06}, "");
    const auto facts = o.deliveries.device_facts(device_name);
    REQUIRE(facts.has_value());
    CHECK(facts->certificate_der == Bytes{0x30, 0x05});
    CHECK(facts->public_key_der == Bytes{0x30, 0x06});
    CHECK(facts->md5_hex == std::string(32, 'f'));
    held = o.claim(device_name, Operation::remove);
    o.repo.outcomes.record_delete_confirmed(held, "");
    CHECK_FALSE(o.deliveries.device_facts(device_name)->certificate_der.has_value());
    CHECK(o.deliveries.device_facts(device_name)->md5_hex.empty());
    CHECK_FALSE(o.deliveries.device_facts("SEP00AABBCCDDEE").has_value());
}

TEST_CASE("delivery: two nodes claiming at once never share a device and deliver every row once") {
    Outbox o;
    constexpr int device_count = 200;
    std::vector<std::string> names;
    std::vector<DeviceSettings> settings;
    for (int i = 0; i < device_count; ++i) {
        char name[32];
        std::snprintf(name, sizeof name, "SEP%012d", i);
        names.emplace_back(name);
        settings.push_back(DeviceSettings{name, "", AuthMode::null_string, "rsa-2048"});
    }
    o.repo.devices.add_devices(settings, test::admin_actor);
    o.deliveries.request_delivery_all(test::admin_actor);
    o.deliveries.request_delivery_all(test::admin_actor);  // two rows per device

    std::mutex mutex;
    std::set<std::string> in_flight;
    std::map<long long, int> completed_rows;  // id -> times completed
    std::atomic<int> overlaps{0}, added{0}, lost{0};
    std::atomic<bool> producing{true};

    // Meanwhile, changes keep arriving, mostly for devices that are held
    // right now: the race a claim must not lose (a new row of a device
    // another node holds must wait for that node).
    std::thread producer([&] {
        for (int i = 0; i < 300; ++i) {
            std::string target = names[static_cast<std::size_t>((i * 37) % device_count)];
            {
                std::lock_guard lock(mutex);
                if (!in_flight.empty() && i % 4 != 0)
                    target = *std::next(in_flight.begin(), i % static_cast<int>(in_flight.size()));
            }
            o.deliveries.request_delivery(target, test::admin_actor);
            ++added;
        }
        producing = false;
    });
    const auto worker = [&](const std::string& node) {
        for (int idle = 0; idle < 3;) {
            const auto batches = o.deliveries.claim_deliveries(node, 5, 60s);
            if (batches.empty()) {
                if (!producing)
                    ++idle;
                std::this_thread::sleep_for(2ms);
                continue;
            }
            idle = 0;
            for (const auto& b : batches) {
                std::lock_guard lock(mutex);
                if (!in_flight.insert(b.device).second)
                    ++overlaps;
            }
            std::this_thread::sleep_for(3ms);  // the "encryptor" at work
            for (const auto& b : batches) {
                {
                    // Leave the set before completing: once complete commits,
                    // a new row of the device may be claimed by anyone.
                    std::lock_guard lock(mutex);
                    in_flight.erase(b.device);
                }
                if (!delivered(o, b, node)) {
                    ++lost;
                    continue;
                }
                std::lock_guard lock(mutex);
                for (long long id : b.ids)
                    ++completed_rows[id];
            }
        }
    };
    std::vector<std::thread> workers;
    for (int t = 0; t < 4; ++t) {
        workers.emplace_back(worker, "node-a");
        workers.emplace_back(worker, "node-b");
    }
    producer.join();
    for (auto& w : workers)
        w.join();

    CHECK(overlaps == 0);
    CHECK(lost == 0);  // leases of 60 s never expire here
    const std::size_t total = 2 * device_count + static_cast<std::size_t>(added);
    CHECK(completed_rows.size() == total);
    CHECK(std::all_of(completed_rows.begin(), completed_rows.end(),
                      [](const auto& entry) { return entry.second == 1; }));
    CHECK(o.undelivered() == 0);
}

TEST_CASE(
    "delivery: an expired lease is taken by another node, and the first one's late record queues "
    "the device again") {
    Outbox o;
    o.add(device_name);
    o.install(device_name, cert("d1", std::string(32, 'd')));
    const auto a = o.deliveries.claim_deliveries("node-a", 10, 60s);
    REQUIRE(a.size() == 1);
    CHECK(o.deliveries.claim_deliveries("node-b", 10, 60s).empty());  // live lease

    o.deliveries.request_delivery(device_name, test::admin_actor);    // a new row meanwhile
    CHECK(o.deliveries.claim_deliveries("node-b", 10, 60s).empty());  // still node-a's device

    o.exec(R"SQL(UPDATE deliveries SET lease_expires_at = now() - interval '1 second'
                 WHERE lease_owner IS NOT NULL)SQL");  // node-a died
    const auto b = o.deliveries.claim_deliveries("node-b", 10, 60s);
    REQUIRE(b.size() == 1);
    CHECK(kinds(b[0]) == std::vector<std::string>{"installed", "requested"});
    CHECK_FALSE(delivered(o, a[0], "node-a"));  // lost: its writes may be the older ones
    CHECK(o.rows(device_name) ==
          Rows{{"installed", false}, {"requested", false}, {"requested", false}});
    CHECK(delivered(o, b[0], "node-b"));
    CHECK(o.rows(device_name) ==
          Rows{{"installed", true}, {"requested", true}, {"requested", false}});
}

TEST_CASE(
    "delivery: a failure counts and keeps the error and backs off and releases and is audited") {
    Outbox o;
    o.add(device_name);
    o.install(device_name, cert("e1", std::string(32, 'e')));
    auto batches = o.deliveries.claim_deliveries("node-a", 10, 60s);
    REQUIRE(batches.size() == 1);
    const std::string long_error = "enc-sgn: /srv/tftp not writable " + std::string(600, 'x');
    CHECK(failed(o, batches[0], "node-a", "/srv/tftp not writable " + std::string(600, 'x'),
                 3600s) == DeliveryFinish::owed_again);

    // Backing off: not claimable, by anyone, until next_attempt_at.
    CHECK(o.deliveries.claim_deliveries("node-a", 10, 60s).empty());
    CHECK(o.deliveries.claim_deliveries("node-b", 10, 60s).empty());
    int attempts = 0;
    bool in_future = false, released = false;
    std::string last_error;
    o.db.pool->transact([&](pqxx::work& txn) {
        const auto r = txn.exec1(R"SQL(
            SELECT attempts, last_error, next_attempt_at > now() + interval '3500 seconds',
                lease_owner IS NULL
            FROM deliveries
        )SQL");
        attempts = r[0].as<int>();
        last_error = r[1].as<std::string>();
        in_future = r[2].as<bool>();
        released = r[3].as<bool>();
    });
    CHECK(attempts == 1);
    CHECK(last_error == long_error.substr(0, 500));
    CHECK(in_future);
    CHECK(released);

    const auto audit = o.repo.audit.audit_events(AuditQuery{device_name, std::nullopt, 1});
    REQUIRE(audit.size() == 1);
    CHECK(audit[0].event == "delivery");
    CHECK(audit[0].outcome == "failed");
    CHECK(audit[0].node == "node-a");
    CHECK(audit[0].detail == long_error.substr(0, 500));

    // Due again: claimed with its count; a second failure counts on.
    o.exec(R"SQL(UPDATE deliveries SET next_attempt_at = now() - interval '1 second')SQL");
    batches = o.deliveries.claim_deliveries("node-b", 10, 60s);
    REQUIRE(batches.size() == 1);
    CHECK(batches[0].attempts == 1);
    // Not text the database could keep: stored with '?' in its place.
    failed(o, batches[0], "node-b", std::string("bad \xff\xfe utf-8"), 1s);
    CHECK(o.deliveries.delivery_stats().last_error == "enc-sgn: bad ?? utf-8");
    // A node that no longer holds the lease changes nothing of the rows.
    CHECK(failed(o, batches[0], "node-b", "late", 1s) == DeliveryFinish::lease_lost);
    CHECK(o.deliveries.delivery_stats().last_error == "enc-sgn: bad ?? utf-8");
}

TEST_CASE("delivery: backoff doubles from the first wait up to the cap") {
    CHECK(delivery_backoff(0, 10s, 300s) == 10s);
    CHECK(delivery_backoff(1, 10s, 300s) == 10s);
    CHECK(delivery_backoff(2, 10s, 300s) == 20s);
    CHECK(delivery_backoff(4, 10s, 300s) == 80s);
    CHECK(delivery_backoff(6, 10s, 300s) == 300s);
    CHECK(delivery_backoff(1'000'000, 10s, 300s) == 300s);
    CHECK(delivery_backoff(3, 600s, 300s) == 300s);
}

TEST_CASE(
    "delivery: requested for one device or all and stats count pending and failing and delivered") {
    Outbox o;
    o.add("SEPAAA000000001");
    o.add("SEPAAA000000002");
    o.add("SEPBBB000000003");
    auto stats = o.deliveries.delivery_stats();
    CHECK(stats.pending == 0);
    CHECK_FALSE(stats.oldest_pending.has_value());
    CHECK(stats.last_error.empty());

    o.deliveries.request_delivery("sepaaa000000001", "uid 0 pid 7");  // any case
    CHECK(o.rows("SEPAAA000000001") == Rows{{"requested", false}});
    CHECK(test::storage_error_of([&] {
              o.deliveries.request_delivery("SEP00AABBCCDDEE", test::admin_actor);
          }) == StorageErrc::not_found);
    CHECK(test::storage_error_of([&] {
              o.deliveries.request_delivery("not a name", test::admin_actor);
          }) == StorageErrc::invalid_device_name);
    auto audit = o.repo.audit.audit_events(AuditQuery{"SEPAAA000000001", std::nullopt, 1});
    REQUIRE(audit.size() == 1);
    CHECK(audit[0].event == "delivery");
    CHECK(audit[0].outcome == "requested");
    CHECK(audit[0].peer == "uid 0 pid 7");

    CHECK(o.deliveries.request_delivery_all(test::admin_actor) == 3);
    stats = o.deliveries.delivery_stats();
    CHECK(stats.pending == 4);
    CHECK(stats.failing == 0);
    CHECK(stats.delivered_last_hour == 0);
    CHECK(stats.oldest_pending.has_value());

    const auto batches = o.deliveries.claim_deliveries("node-a", 2, 60s);  // limit: 2 devices
    REQUIRE(batches.size() == 2);
    CHECK(batches[0].device == "SEPAAA000000001");  // oldest due first
    CHECK(batches[0].ids.size() == 2);
    CHECK(delivered(o, batches[0], "node-a"));
    failed(o, batches[1], "node-a", "exit status 3", 60s);
    stats = o.deliveries.delivery_stats();
    CHECK(stats.pending == 2);
    CHECK(stats.failing == 1);
    CHECK(stats.delivered_last_hour == 2);
    CHECK(stats.last_error == "enc-sgn: exit status 3");
    CHECK(stats.last_error_at.has_value());

    // Delivered history goes when purged, in batches of at most the limit,
    // once older than the age given; pending rows stay.
    CHECK(o.deliveries.purge_delivered(1h, 10) == 0);
    CHECK(o.deliveries.purge_delivered(0s, 1) == 1);
    CHECK(o.deliveries.purge_delivered(0s, 10) == 1);
    CHECK(o.deliveries.purge_delivered(0s, 10) == 0);
    CHECK(o.deliveries.delivery_stats().pending == 2);
}

TEST_CASE("delivery: all device facts page by name and filter by prefix") {
    Outbox o;
    for (const char* name :
         {"SEPAAA000000003", "SEPAAA000000001", "SEPBBB000000001", "SEPAAA000000002", "CIPC-ALICE"})
        o.add(name);
    o.install("SEPAAA000000002", cert("f2", std::string(32, 'c')));

    auto page = o.deliveries.all_device_facts("sepaaa", "", 2);
    REQUIRE(page.size() == 2);
    CHECK(page[0].name == "SEPAAA000000001");
    CHECK(page[1].name == "SEPAAA000000002");
    CHECK(page[1].md5_hex == std::string(32, 'c'));
    CHECK(page[0].md5_hex.empty());
    page = o.deliveries.all_device_facts("sepaaa", page.back().name, 2);
    REQUIRE(page.size() == 1);
    CHECK(page[0].name == "SEPAAA000000003");
    page = o.deliveries.all_device_facts("sepaaa", page.back().name, 2);
    CHECK(page.empty());

    page = o.deliveries.all_device_facts("", "", 100);
    REQUIRE(page.size() == 5);
    CHECK(page.front().name == "CIPC-ALICE");
    CHECK(page.back().name == "SEPBBB000000001");
}

// Issue 32, item 2: a node whose lease ran short hands the rows back at once;
// one that finds its lease lost at the end queues the device again.
TEST_CASE(
    "delivery: rows handed back are claimable at once, and a lost lease queues the device again") {
    Outbox o;
    o.add(device_name);
    o.install(device_name, cert("f1", std::string(32, 'f')));
    const auto a = o.deliveries.claim_deliveries("node-a", 10, 3600s);
    REQUIRE(a.size() == 1);
    CHECK(o.deliveries.claim_deliveries("node-b", 10, 3600s).empty());
    CHECK(o.deliveries.release_deliveries(a[0], "node-b") == 0);  // not node-b's to give
    CHECK(o.deliveries.release_deliveries(a[0], "node-a") == 1);
    const auto b = o.deliveries.claim_deliveries("node-b", 10, 3600s);  // no wait for the lease
    REQUIRE(b.size() == 1);
    CHECK(b[0].ids == a[0].ids);
    CHECK(b[0].attempts == 0);  // handing back is not a failure

    CHECK(o.deliveries.release_deliveries(a[0], "node-a") == 0);  // node-b's now
    CHECK_FALSE(delivered(o, a[0], "node-a"));                    // lost: queued again
    CHECK(o.rows(device_name) == Rows{{"installed", false}, {"requested", false}});
    CHECK(delivered(o, b[0], "node-b"));
    // The new row waited for node-b's lease to end; it is claimable now.
    const auto again = o.deliveries.claim_deliveries("node-a", 10, 60s);
    REQUIRE(again.size() == 1);
    CHECK(kinds(again[0]) == std::vector<std::string>{"requested"});
    const auto audit = o.repo.audit.audit_events(AuditQuery{device_name, std::nullopt, 1});
    REQUIRE(audit.size() == 1);
    CHECK(audit[0].event == "delivery");
    CHECK(audit[0].outcome == "lease_lost");
    CHECK(audit[0].node == "node-a");
}

// ---- issue 32, item 4: state per device and encryptor ----

namespace {

/// The `encryptors` column of every undelivered row of `name`, oldest first
/// ("*" for NULL: every encryptor), and their attempts.
std::vector<std::pair<std::string, int>> owed_rows(Outbox& o, const std::string& name) {
    std::vector<std::pair<std::string, int>> out;
    o.db.pool->transact([&](pqxx::work& txn) {
        for (const auto& r : txn.exec_params(R"SQL(
            SELECT coalesce(array_to_string(encryptors, ','), '*'), attempts FROM deliveries
            WHERE device = $1 AND delivered_at IS NULL ORDER BY id
        )SQL",
                                             name))
            out.emplace_back(r[0].as<std::string>(), r[1].as<int>());
    });
    return out;
}

using Owed = std::vector<std::pair<std::string, int>>;
using Names = std::vector<std::string>;

}  // namespace

TEST_CASE("delivery: a retry is owed only to the encryptors that failed, a new change to all") {
    Outbox o;
    o.add(device_name);
    o.install(device_name, cert("a1", std::string(32, 'a')));
    auto batches = o.deliveries.claim_deliveries("node-a", 10, 60s);
    REQUIRE(batches.size() == 1);
    CHECK_FALSE(batches[0].encryptors.has_value());  // a change: every encryptor

    DeliveryOutcome outcome;
    outcome.delivered = {"enc-sgn", "itl"};
    outcome.failed = {{"exec", "exited with status 3"}};
    CHECK(o.deliveries.finish_delivery(batches[0], "node-a", outcome, 3600s) ==
          DeliveryFinish::owed_again);
    CHECK(owed_rows(o, device_name) == Owed{{"exec", 1}});
    CHECK(o.deliveries.delivery_stats().last_error == "exec: exited with status 3");
    CHECK(o.deliveries.claim_deliveries("node-a", 10, 60s).empty());  // backing off
    o.exec(R"SQL(UPDATE deliveries SET next_attempt_at = now() - interval '1 second')SQL");
    batches = o.deliveries.claim_deliveries("node-b", 10, 60s);
    REQUIRE(batches.size() == 1);
    CHECK(batches[0].encryptors == std::optional<Names>(Names{"exec"}));
    CHECK(batches[0].attempts == 1);

    // Only the lease ran short for hashes-file: owed still, due at once, not a failure.
    outcome = {};
    outcome.delivered = {"exec"};
    outcome.not_run = {"hashes-file"};
    CHECK(o.deliveries.finish_delivery(batches[0], "node-b", outcome, 3600s) ==
          DeliveryFinish::owed_again);
    CHECK(owed_rows(o, device_name) == Owed{{"hashes-file", 1}});
    batches = o.deliveries.claim_deliveries("node-a", 10, 60s);
    REQUIRE(batches.size() == 1);
    CHECK(batches[0].encryptors == std::optional<Names>(Names{"hashes-file"}));
    CHECK(o.deliveries.release_deliveries(batches[0], "node-a") == 1);

    // A new change meanwhile is owed to every encryptor, so the batch is too.
    o.install(device_name, cert("a2", std::string(32, 'b')));
    batches = o.deliveries.claim_deliveries("node-a", 10, 60s);
    REQUIRE(batches.size() == 1);
    CHECK(batches[0].ids.size() == 2);
    CHECK_FALSE(batches[0].encryptors.has_value());
    outcome = {};
    outcome.delivered = {"enc-sgn", "exec", "hashes-file", "itl"};
    CHECK(o.deliveries.finish_delivery(batches[0], "node-a", outcome, 1s) ==
          DeliveryFinish::delivered);
    CHECK(o.undelivered() == 0);
}

TEST_CASE(
    "delivery: a failure that cannot succeed is parked with its cause, and unparked by success") {
    Outbox o;
    o.add(device_name);
    o.install(device_name, cert("b1", std::string(32, 'c')));
    auto batches = o.deliveries.claim_deliveries("node-a", 10, 60s);
    REQUIRE(batches.size() == 1);
    DeliveryOutcome outcome;
    outcome.delivered = {"exec"};
    outcome.parked = {{"enc-sgn", "key-not-rsa", "SEP has an ec-p256 key"}};
    // Parked is not owed: the rows are done, nothing is retried for ever.
    CHECK(o.deliveries.finish_delivery(batches[0], "node-a", outcome, 1s) ==
          DeliveryFinish::delivered);
    CHECK(o.undelivered() == 0);
    CHECK(o.deliveries.delivery_stats().parked == 1);
    auto parked = o.deliveries.parked_deliveries({}, "", "", 100);
    REQUIRE(parked.size() == 1);
    CHECK(parked[0].device == device_name);
    CHECK(parked[0].encryptor == "enc-sgn");
    CHECK(parked[0].cause == "key-not-rsa");
    CHECK(parked[0].error == "enc-sgn: SEP has an ec-p256 key");
    auto audit = o.repo.audit.audit_events(AuditQuery{device_name, std::nullopt, 1});
    REQUIRE(audit.size() == 1);
    CHECK(audit[0].outcome == "parked");
    CHECK_THAT(audit[0].detail, Catch::StartsWith("key-not-rsa: enc-sgn:"));

    // Parked again with the same cause (encrypt-config): `since` stays.
    o.exec(R"SQL(UPDATE parked_deliveries SET since = now() - interval '1 day')SQL");
    o.deliveries.request_delivery(device_name, test::admin_actor);
    batches = o.deliveries.claim_deliveries("node-a", 10, 60s);
    REQUIRE(batches.size() == 1);
    CHECK_FALSE(batches[0].encryptors.has_value());  // a request retries what is parked
    outcome.delivered = {"exec"};
    o.deliveries.finish_delivery(batches[0], "node-a", outcome, 1s);
    parked = o.deliveries.parked_deliveries({}, "", "", 100);
    REQUIRE(parked.size() == 1);
    CHECK(parked[0].since < std::chrono::system_clock::now() - 23h);
    CHECK(parked[0].last_failed_at > std::chrono::system_clock::now() - 1h);
    // Another cause starts again.
    o.deliveries.request_delivery(device_name, test::admin_actor);
    batches = o.deliveries.claim_deliveries("node-a", 10, 60s);
    REQUIRE(batches.size() == 1);
    outcome.parked = {{"enc-sgn", "no-source-file", "no SEP.cnf.xml"}};
    o.deliveries.finish_delivery(batches[0], "node-a", outcome, 1s);
    parked = o.deliveries.parked_deliveries({device_name, "", "no-source-file"}, "", "", 100);
    REQUIRE(parked.size() == 1);
    CHECK(parked[0].since > std::chrono::system_clock::now() - 1h);
    CHECK(o.deliveries.parked_deliveries({"", "", "key-not-rsa"}, "", "", 100).empty());

    // The source file appeared: a row owed to enc-sgn alone, once.
    CHECK(o.deliveries.retry_parked("enc-sgn", {device_name}, "node-a") == 1);
    CHECK(o.deliveries.retry_parked("enc-sgn", {device_name}, "node-a") == 0);  // owed already
    CHECK(o.deliveries.retry_parked("exec", {device_name}, "node-a") == 0);     // not parked
    batches = o.deliveries.claim_deliveries("node-a", 10, 60s);
    REQUIRE(batches.size() == 1);
    CHECK(batches[0].encryptors == std::optional<Names>(Names{"enc-sgn"}));
    outcome = {};
    outcome.delivered = {"enc-sgn"};
    CHECK(o.deliveries.finish_delivery(batches[0], "node-a", outcome, 1s) ==
          DeliveryFinish::delivered);
    CHECK(o.deliveries.parked_deliveries({}, "", "", 100).empty());
    CHECK(o.deliveries.delivery_stats().parked == 0);
}

TEST_CASE("delivery: a finish that finds the lease lost queues the encryptors that ran again") {
    Outbox o;
    o.add(device_name);
    o.install(device_name, cert("c1", std::string(32, 'd')));
    const auto a = o.deliveries.claim_deliveries("node-a", 10, 60s);
    REQUIRE(a.size() == 1);
    o.exec(R"SQL(UPDATE deliveries SET lease_expires_at = now() - interval '1 second')SQL");
    const auto b = o.deliveries.claim_deliveries("node-b", 10, 60s);
    REQUIRE(b.size() == 1);
    DeliveryOutcome outcome;
    outcome.delivered = {"enc-sgn"};
    outcome.failed = {{"exec", "late"}};
    outcome.not_run = {"hashes-file"};
    CHECK(o.deliveries.finish_delivery(a[0], "node-a", outcome, 1s) == DeliveryFinish::lease_lost);
    // node-b's row untouched; a new one owed to what node-a ran.
    CHECK(owed_rows(o, device_name) == Owed{{"*", 0}, {"enc-sgn,exec", 0}});
    // Nothing ran: nothing to redo.
    CHECK(o.deliveries.finish_delivery(a[0], "node-a", DeliveryOutcome{}, 1s) ==
          DeliveryFinish::lease_lost);
    CHECK(owed_rows(o, device_name).size() == 2);
}

// Issue 32, item 3: revocation and removal reach the TFTP side.
TEST_CASE("delivery: revoking the current LSC queues its withdrawal, and the facts leave it out") {
    Outbox o;
    o.add(device_name);
    o.install(device_name, cert("a2", std::string(32, 'b')));
    // Issued but never confirmed: no key of the device's as the TFTP side knows it.
    const auto held = o.claim(device_name, Operation::install);
    o.repo.outcomes.record_certificate_issued(held, cert("a3", std::string(32, 'c')), "10.0.0.1");
    o.repo.outcomes.record_failure(held, "timeout", "10.0.0.1");
    REQUIRE(delivered(o, o.deliveries.claim_deliveries("node-a", 10, 60s).at(0), "node-a"));

    o.repo.certificates.revoke_certificate("a3", test::admin_actor);
    CHECK(o.deliveries.claim_deliveries("node-a", 10, 60s).empty());  // nothing to withdraw

    o.repo.certificates.revoke_certificate("a2", test::admin_actor);
    const auto batches = o.deliveries.claim_deliveries("node-a", 10, 60s);
    REQUIRE(batches.size() == 1);
    CHECK(kinds(batches[0]) == std::vector<std::string>{"revoked"});
    const DeviceFacts& facts = batches[0].facts;
    CHECK(facts.name == device_name);
    CHECK_FALSE(facts.removed);
    CHECK_FALSE(facts.certificate_der.has_value());
    CHECK_FALSE(facts.public_key_der.has_value());
    CHECK(facts.md5_hex.empty());
    // Every other reader of the facts leaves it out too; the record stays.
    CHECK_FALSE(o.deliveries.device_facts(device_name)->public_key_der.has_value());
    CHECK(o.deliveries.all_device_facts("", "", 10).at(0).md5_hex.empty());
    CHECK(o.repo.devices.find_device(device_name)->lsc->serial_hex == "a2");
}

TEST_CASE("delivery: a removed device's withdrawal outlives it and is claimed by one node") {
    Outbox o;
    o.add(device_name);
    o.install(device_name, cert("b1", std::string(32, 'b')));
    o.repo.devices.remove_device(device_name, test::admin_actor);
    CHECK_FALSE(o.repo.devices.find_device(device_name).has_value());
    CHECK(o.rows(device_name) == Rows{{"installed", false}, {"removed", false}});

    const auto a = o.deliveries.claim_deliveries("node-a", 10, 60s);
    REQUIRE(a.size() == 1);
    CHECK(kinds(a[0]) == std::vector<std::string>{"installed", "removed"});
    CHECK(a[0].device == device_name);
    CHECK(a[0].facts.name == device_name);
    CHECK(a[0].facts.removed);
    CHECK_FALSE(a[0].facts.public_key_der.has_value());
    CHECK(o.deliveries.claim_deliveries("node-b", 10, 60s).empty());  // node-a's
    CHECK(delivered(o, a[0], "node-a"));
    CHECK(o.rows(device_name) == Rows{{"installed", true}, {"removed", true}});
    CHECK(o.deliveries.claim_deliveries("node-b", 10, 60s).empty());

    // Added again under the same name: an ordinary device once more.
    o.add(device_name);
    o.deliveries.request_delivery(device_name, test::admin_actor);
    const auto again = o.deliveries.claim_deliveries("node-b", 10, 60s);
    REQUIRE(again.size() == 1);
    CHECK_FALSE(again[0].facts.removed);
}

TEST_CASE("delivery: many nodes claiming removed devices at once never share one") {
    Outbox o;
    constexpr int device_count = 40;
    for (int i = 0; i < device_count; ++i) {
        const std::string name = "SEPDD00000000" + std::to_string(10 + i);
        o.add(name);
        o.repo.devices.remove_device(name, test::admin_actor);
    }
    std::mutex mutex;
    std::map<std::string, int> claimed;
    std::vector<std::thread> nodes;
    for (int n = 0; n < 6; ++n) {
        nodes.emplace_back([&, n] {
            const std::string node = "node-" + std::to_string(n);
            for (int round = 0; round < 20; ++round) {
                for (const auto& b : o.deliveries.claim_deliveries(node, 3, 60s)) {
                    std::lock_guard lock(mutex);
                    ++claimed[b.device];
                }
            }
        });
    }
    for (auto& t : nodes)
        t.join();
    CHECK(claimed.size() == device_count);
    for (const auto& [device, times] : claimed) {
        INFO(device);
        CHECK(times == 1);
    }
}

}  // namespace delivery_test_cases
