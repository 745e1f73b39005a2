// Bounded growth (issue 32): the audit log and the delivered rows of the
// TFTP outbox are deleted once past their retention, by every node, in
// batches small enough that phones' database work runs between them.
#pragma once

#include <asio/awaitable.hpp>
#include <chrono>
#include <cstddef>
#include <string>

#include "capf/common/blocking_pool.hpp"
#include "storage/connection_pool_fwd.hpp"

namespace capf {

struct RetentionSettings {
    std::string node;
    std::chrono::seconds audit;             ///< audit events older than this go
    std::chrono::seconds delivered_outbox;  ///< delivered outbox rows older than this go
    std::size_t batch = 5000;               ///< rows deleted by one statement
};

struct RetentionSweep {
    std::size_t audit_events = 0;
    std::size_t delivered_rows = 0;
};

/// Deletes everything past retention, one batch per trip to the blocking
/// pool until a batch comes back short. When anything went, one log line
/// (retention_purged) and one audit event (retention/purged) say how much
/// and how old: the history shows its own gaps. Throws what storage throws
/// (the caller logs it and tries again at the next interval).
/// Lifetime: `db` and `pool` outlive the coroutine.
asio::awaitable<RetentionSweep> purge_past_retention(const RetentionSettings& settings,
                                                     storage::ConnectionPool& db,
                                                     BlockingPool& pool);

}  // namespace capf
