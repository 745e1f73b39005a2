#include "capf/service/retention.hpp"

#include "capf/common/config.hpp"
#include "capf/common/log.hpp"
#include "storage/audit_log.hpp"
#include "storage/delivery_repository.hpp"

namespace capf {
namespace {

/// Deletes in batches with `purge_batch` (one bounded statement, returning
/// how many it deleted) until one deletes fewer than a batch.
template <typename PurgeBatch>
asio::awaitable<std::size_t> in_batches(BlockingPool& pool, std::size_t batch,
                                        PurgeBatch purge_batch) {
    std::size_t total = 0;
    for (;;) {
        auto one_batch = [&] { return purge_batch(batch); };
        const std::size_t deleted = co_await pool.run(one_batch);
        total += deleted;
        if (deleted < batch)
            co_return total;
    }
}

}  // namespace

asio::awaitable<RetentionSweep> purge_past_retention(const RetentionSettings& settings,
                                                     storage::ConnectionPool& db,
                                                     BlockingPool& pool) {
    storage::AuditLog audit(db);
    storage::DeliveryRepository outbox(db);
    RetentionSweep swept;
    swept.audit_events = co_await in_batches(pool, settings.batch, [&](std::size_t limit) {
        return audit.purge_older_than(settings.audit, limit);
    });
    swept.delivered_rows = co_await in_batches(pool, settings.batch, [&](std::size_t limit) {
        return outbox.purge_delivered(settings.delivered_outbox, limit);
    });
    if (swept.audit_events + swept.delivered_rows == 0)
        co_return swept;
    const std::string detail = "audit events " + std::to_string(swept.audit_events) +
                               " older than " + format_duration(settings.audit) +
                               ", delivered outbox rows " + std::to_string(swept.delivered_rows) +
                               " older than " + format_duration(settings.delivered_outbox);
    log::info("retention_purged",
              {{"audit_events", static_cast<unsigned long long>(swept.audit_events)},
               {"delivered_rows", static_cast<unsigned long long>(swept.delivered_rows)},
               {"audit_retention", format_duration(settings.audit)},
               {"outbox_retention", format_duration(settings.delivered_outbox)}});
    auto record = [&] {
        audit.append_audit(
            storage::AuditEvent{"", "", settings.node, "retention", "purged", detail, {}});
    };
    co_await pool.run(record);
    co_return swept;
}

}  // namespace capf
