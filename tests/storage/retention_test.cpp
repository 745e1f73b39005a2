// Retention (issue 32): audit events and delivered outbox rows past their
// age are deleted by bounded statements; nothing younger, nothing pending.
#include <catch2/catch.hpp>
#include <pqxx/pqxx>

#include "storage/audit_log.hpp"
#include "storage/delivery_repository.hpp"
#include "tests/storage/pg_test_support.hpp"
#include "tests/storage/repositories.hpp"

// The file's own namespace: the suite is compiled in unity batches, and its
// file-local names must not meet another file's.
namespace retention_test_cases {

using namespace capf;
using namespace capf::storage;
using namespace std::chrono_literals;

namespace {

AuditEvent event(const std::string& detail) {
    return AuditEvent{"", "10.0.0.1", "node-a", "session", "refused", detail, {}};
}

/// Runs `sql` on a connection of its own: backdating rows as time would.
void execute(test::TestDatabase& db, const std::string& sql) {
    pqxx::connection c(db.conninfo());
    pqxx::work txn(c);
    txn.exec0(sql);
    txn.commit();
}

std::size_t count(test::TestDatabase& db, const std::string& sql) {
    pqxx::connection c(db.conninfo());
    pqxx::nontransaction txn(c);
    return txn.exec1(sql)[0].as<std::size_t>();
}

}  // namespace

TEST_CASE("retention: audit events older than the retention go, in bounded batches") {
    test::TestDatabase db;
    AuditLog audit(*db.pool);
    for (int i = 0; i < 7; ++i)
        audit.append_audit(event("old " + std::to_string(i)));
    audit.append_rate_limited_audit(event("old, counted"));
    execute(db, "UPDATE audit_events SET at = now() - interval '401 days'");
    for (int i = 0; i < 3; ++i)
        audit.append_audit(event("young " + std::to_string(i)));

    // Each call deletes at most its limit; the young ones are never touched.
    CHECK(audit.purge_older_than(400 * 24h, 5) == 5);
    CHECK(audit.purge_older_than(400 * 24h, 5) == 3);
    CHECK(audit.purge_older_than(400 * 24h, 5) == 0);
    const auto left = audit.audit_events(AuditQuery{"", {}, 100});
    REQUIRE(left.size() == 3);
    for (const auto& e : left)
        CHECK(e.detail.rfind("young ", 0) == 0);
    // An age shorter than theirs takes them too.
    CHECK(audit.purge_older_than(0s, 100) == 3);
}

TEST_CASE("retention: delivered outbox rows past their age go, pending rows never") {
    test::TestDatabase db;
    test::Repositories repo(*db.pool);
    DeliveryRepository outbox(*db.pool);
    for (const char* name : {"SEPAAA000000001", "SEPAAA000000002", "SEPAAA000000003"}) {
        repo.devices.add_device(DeviceSettings{name, "", AuthMode::null_string, "rsa-2048"},
                                test::admin_actor);
        outbox.request_delivery(name, test::admin_actor);
    }
    const auto claimed = outbox.claim_deliveries("node-a", 2, 60s);
    REQUIRE(claimed.size() == 2);
    DeliveryOutcome all_delivered;
    all_delivered.delivered = {"enc-sgn"};
    for (const auto& batch : claimed)
        REQUIRE(outbox.finish_delivery(batch, "node-a", all_delivered, 0s) ==
                DeliveryFinish::delivered);
    execute(db,
            "UPDATE deliveries SET delivered_at = now() - interval '2 days' "
            "WHERE delivered_at IS NOT NULL");

    CHECK(outbox.purge_delivered(24h, 1) == 1);
    CHECK(outbox.purge_delivered(24h, 10) == 1);
    CHECK(outbox.purge_delivered(24h, 10) == 0);
    CHECK(count(db, "SELECT count(*) FROM deliveries") == 1);
    CHECK(outbox.delivery_stats().pending == 1);
}

}  // namespace retention_test_cases
