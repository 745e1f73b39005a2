// A database of its own for each test case, in the CTest fixture's cluster.
#pragma once

#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <cstdlib>
#include <fstream>
#include <pqxx/pqxx>
#include <random>
#include <string>

#include "storage/connection_pool.hpp"
#include "storage/error.hpp"
#include "storage/migrations.hpp"

namespace capf::test {

/// The actor of administrative changes in tests that are not about who
/// made them.
inline const std::string admin_actor = "uid 0 pid 1";

/// The code of the StorageError that `f` throws; fails the test when none.
template <typename F>
storage::StorageErrc storage_error_of(F&& f) {
    try {
        f();
    } catch (const storage::StorageError& e) {
        return e.code();
    }
    FAIL("no StorageError thrown");
    return storage::StorageErrc::conflict;
}

inline std::string fixture_conninfo() {
    const char* file = std::getenv("CAPF_TEST_PG_CONNINFO_FILE");
    REQUIRE(file != nullptr);  // set by CTest; run through ctest (fixture capf_postgres)
    std::ifstream in(file);
    std::string line;
    std::getline(in, line);
    REQUIRE_FALSE(line.empty());
    return line;
}

/// Creates a fresh database with the schema applied; drops it afterwards.
class TestDatabase {
  public:
    TestDatabase() {
        static std::atomic<int> counter{0};
        std::random_device rd;
        name_ = "capf_t_" + std::to_string(::getpid()) + "_" + std::to_string(counter++) + "_" +
                std::to_string(rd() % 100000);
        base_ = fixture_conninfo();
        pqxx::connection admin(base_ + " dbname=postgres");
        pqxx::nontransaction txn(admin);
        txn.exec0("CREATE DATABASE " + txn.quote_name(name_));  // an identifier, escaped
        pool = std::make_unique<storage::ConnectionPool>(storage::PoolOptions{conninfo(), 20});
        storage::apply_migrations(*pool);
    }
    ~TestDatabase() {
        pool.reset();
        try {
            pqxx::connection admin(base_ + " dbname=postgres");
            pqxx::nontransaction txn(admin);
            txn.exec0("DROP DATABASE IF EXISTS " + txn.quote_name(name_) + " WITH (FORCE)");
        } catch (const std::exception&) {
        }
    }
    std::string conninfo() const { return base_ + " dbname=" + name_; }

    std::unique_ptr<storage::ConnectionPool> pool;

  private:
    std::string base_;
    std::string name_;
};

}  // namespace capf::test
