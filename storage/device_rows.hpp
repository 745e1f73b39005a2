// Internal to storage/: what the repositories over the devices table share.
// The one-statement helpers, the device filter as statement parameters, and
// the checks and changes that more than one concern makes.
#pragma once

#include <optional>
#include <pqxx/pqxx>
#include <string>
#include <type_traits>

#include "storage/connection_pool.hpp"
#include "storage/sql_support.hpp"
#include "storage/types.hpp"

namespace capf::storage::sql {

/// Runs one statement on a connection of the pool, on its own: a single
/// statement is atomic, so it needs no BEGIN and COMMIT (see
/// ConnectionPool::autocommit). Errors as ConnectionPool::transact. The
/// result stays valid after the connection went back to the pool.
template <typename... Params>
pqxx::result one_statement(ConnectionPool& pool, const std::string& text, const Params&... params) {
    pqxx::result out;
    pool.autocommit([&](pqxx::nontransaction& txn) { out = txn.exec_params(text, params...); });
    return out;
}

/// one_statement, and its first row mapped by `map`; nothing when the
/// statement returned no row.
template <typename Map, typename... Params>
auto first_row(ConnectionPool& pool, const std::string& text, const Map& map,
               const Params&... params)
    -> std::optional<std::invoke_result_t<const Map&, const pqxx::row&>> {
    const pqxx::result r = one_statement(pool, text, params...);
    if (r.empty())
        return std::nullopt;
    return map(r[0]);
}

// The filter as parameters $1..$4 of a fixed WHERE clause.
constexpr const char* filter_clause = R"SQL(
    ($1 = '' OR starts_with(name, $1))
    AND ($2 = '' OR pending_operation = $2)
    AND ($3 = '' OR operation_status = $3)
    AND (NULLIF($4, '') IS NULL OR lsc_not_after < to_timestamp(NULLIF($4, '')::float8))
)SQL";

struct FilterParams {
    std::string prefix, operation, status, expiring;
};

FilterParams params_of(const DeviceFilter& f);

/// StorageError(not_found) naming the device when `r` changed no row.
void require_found(const pqxx::result& r, const std::string& name);

/// Revokes, with `reason`, the device's unrevoked certificates that `which`
/// (a condition on $2) picks.
void revoke_in(pqxx::work& txn, const std::string& device, const std::string& reason,
               Fragment which, const std::string& serial_hex);

}  // namespace capf::storage::sql
