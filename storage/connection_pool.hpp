// A bounded pool of PostgreSQL connections. Calls fail fast with
// StorageError(unreachable) when the database is down, and a broken
// connection is replaced on the next use.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <pqxx/connection>
#include <pqxx/except>
#include <pqxx/nontransaction>
#include <pqxx/transaction>
#include <string>
#include <vector>

#include "storage/error.hpp"

namespace capf::storage {

struct PoolOptions {
    std::string connection_string;
    std::size_t size = 8;
    /// How long a caller waits for a free connection.
    std::chrono::milliseconds acquire_timeout = std::chrono::seconds(5);
    /// libpq connect_timeout, in seconds, added unless the string sets one.
    int connect_timeout_seconds = 2;
    /// Set on every connection: a statement running longer, or waiting for
    /// a lock longer, is cancelled and becomes StorageError(timeout), so a
    /// stuck query or a held row lock cannot hold a session or a pool
    /// connection without limit. 0 turns a limit off.
    std::chrono::milliseconds statement_timeout{30000};
    std::chrono::milliseconds lock_timeout{10000};
};

/// Thread-safe. Each call runs in a transaction of its own on a connection
/// the pool lends for the call's duration.
class ConnectionPool {
  public:
    explicit ConnectionPool(PoolOptions options);
    ~ConnectionPool();
    ConnectionPool(const ConnectionPool&) = delete;
    ConnectionPool& operator=(const ConnectionPool&) = delete;

    /// Runs `body` in one transaction and commits it. Database errors become
    /// StorageError: unreachable (connection failed or lost: the connection
    /// is dropped, the next call reconnects), pool_exhausted, invalid_value
    /// (a CHECK constraint refused the data), already_exists (unique
    /// violation), timeout (statement_timeout or lock_timeout cancelled a
    /// statement; the message names which and its value). StorageError thrown by `body` passes
    /// through unchanged and the transaction is rolled back.
    void transact(const std::function<void(pqxx::work&)>& body);

    /// Runs `body` outside a transaction block: each statement commits on
    /// its own. For calls that are a single statement (a lookup, or one
    /// statement that does all its work in CTEs): it saves the BEGIN and
    /// COMMIT round trips of transact(). Errors as transact().
    void autocommit(const std::function<void(pqxx::nontransaction&)>& body);

    /// Connections currently open (for tests and stats).
    std::size_t open_connections() const;

  private:
    std::unique_ptr<pqxx::connection> acquire();
    std::unique_ptr<pqxx::connection> connect() const;
    /// StorageError(timeout) when a timeout cancelled the statement.
    std::optional<StorageError> timeout_error(const pqxx::sql_error& e) const;
    void release(std::unique_ptr<pqxx::connection> conn);
    /// transact() and autocommit(): `Txn` is pqxx::work or pqxx::nontransaction.
    template <typename Txn>
    void run(const std::function<void(Txn&)>& body);

    PoolOptions options_;
    std::string connection_string_;
    mutable std::mutex mutex_;
    std::condition_variable available_;
    std::vector<std::unique_ptr<pqxx::connection>> idle_;
    std::size_t lent_ = 0;
};

}  // namespace capf::storage
