#include "storage/connection_pool.hpp"

#include <pqxx/pqxx>

#include "storage/error.hpp"

namespace capf::storage {

ConnectionPool::ConnectionPool(PoolOptions options) : options_(std::move(options)) {
    connection_string_ = options_.connection_string;
    if (connection_string_.find("connect_timeout") == std::string::npos) {
        // Fail fast when the server is unreachable instead of hanging in connect().
        connection_string_ += (connection_string_.empty() ? "" : " ");
        connection_string_ += "connect_timeout=" + std::to_string(options_.connect_timeout_seconds);
    }
    if (options_.size == 0) {
        options_.size = 1;
    }
}

ConnectionPool::~ConnectionPool() = default;

std::size_t ConnectionPool::open_connections() const {
    std::lock_guard lock(mutex_);
    return idle_.size() + lent_;
}

std::unique_ptr<pqxx::connection> ConnectionPool::acquire() {
    std::unique_lock lock(mutex_);
    const bool got = available_.wait_for(lock, options_.acquire_timeout, [this] {
        return !idle_.empty() || lent_ + idle_.size() < options_.size;
    });
    if (!got) {
        throw StorageError(StorageErrc::pool_exhausted,
                           "no database connection free within " +
                               std::to_string(options_.acquire_timeout.count()) + " ms (pool of " +
                               std::to_string(options_.size) + ")");
    }
    ++lent_;
    if (!idle_.empty()) {
        auto conn = std::move(idle_.back());
        idle_.pop_back();
        return conn;
    }
    lock.unlock();
    try {
        return connect();
    } catch (const std::exception& e) {
        lock.lock();
        --lent_;
        available_.notify_one();
        throw StorageError(StorageErrc::unreachable,
                           std::string("database unreachable: ") + e.what());
    }
}

std::unique_ptr<pqxx::connection> ConnectionPool::connect() const {
    auto conn = std::make_unique<pqxx::connection>(connection_string_);
    // Session settings, after connecting rather than in the connection
    // string, so that they hold whatever form the string takes (URI or
    // key=value) and whatever options it already carries.
    pqxx::nontransaction txn(*conn);
    txn.exec_params(R"SQL(
        SELECT set_config('statement_timeout', $1, false), set_config('lock_timeout', $2, false)
    )SQL",
                    std::to_string(options_.statement_timeout.count()),
                    std::to_string(options_.lock_timeout.count()));
    txn.commit();
    return conn;
}

namespace {

// SQLSTATEs of a statement that a timeout cancelled.
constexpr const char* query_canceled = "57014";      // statement_timeout
constexpr const char* lock_not_available = "55P03";  // lock_timeout

}  // namespace

std::optional<StorageError> ConnectionPool::timeout_error(const pqxx::sql_error& e) const {
    const std::string state = e.sqlstate();
    if (state == query_canceled) {
        return StorageError(StorageErrc::timeout,
                            "a database statement ran longer than statement_timeout (" +
                                std::to_string(options_.statement_timeout.count()) +
                                " ms) and was cancelled: " + e.what());
    }
    if (state == lock_not_available) {
        return StorageError(StorageErrc::timeout,
                            "a database statement waited for a lock longer than lock_timeout (" +
                                std::to_string(options_.lock_timeout.count()) +
                                " ms) and was cancelled: " + e.what());
    }
    return std::nullopt;
}

void ConnectionPool::release(std::unique_ptr<pqxx::connection> conn) {
    std::lock_guard lock(mutex_);
    --lent_;
    if (conn && conn->is_open()) {
        idle_.push_back(std::move(conn));
    }
    available_.notify_one();
}

void ConnectionPool::transact(const std::function<void(pqxx::work&)>& body) {
    run(body);
}

void ConnectionPool::autocommit(const std::function<void(pqxx::nontransaction&)>& body) {
    run(body);
}

template <typename Txn>
void ConnectionPool::run(const std::function<void(Txn&)>& body) {
    auto conn = acquire();
    try {
        Txn txn(*conn);
        body(txn);
        txn.commit();
    } catch (const pqxx::broken_connection& e) {
        release(nullptr);  // dropped: the next call reconnects
        throw StorageError(StorageErrc::unreachable,
                           std::string("database connection lost: ") + e.what());
    } catch (const pqxx::check_violation& e) {
        release(std::move(conn));
        throw StorageError(StorageErrc::invalid_value,
                           std::string("the database refused a value: ") + e.what());
    } catch (const pqxx::unique_violation& e) {
        release(std::move(conn));
        throw StorageError(StorageErrc::already_exists, std::string("already exists: ") + e.what());
    } catch (const pqxx::sql_error& e) {
        const bool usable = conn && conn->is_open();
        release(usable ? std::move(conn) : nullptr);
        if (auto timed_out = timeout_error(e))
            throw *timed_out;
        if (!usable)
            throw StorageError(StorageErrc::unreachable, "database connection lost");
        throw;
    } catch (const pqxx::in_doubt_error& e) {
        release(nullptr);
        throw StorageError(StorageErrc::unreachable,
                           std::string("commit outcome unknown: ") + e.what());
    } catch (...) {
        const bool usable = conn && conn->is_open();
        release(usable ? std::move(conn) : nullptr);
        if (!usable) {
            throw StorageError(StorageErrc::unreachable, "database connection lost");
        }
        throw;
    }
    release(std::move(conn));
}

}  // namespace capf::storage
