#include "storage/auth_strings.hpp"

#include <pqxx/pqxx>

#include "storage/connection_pool.hpp"
#include "storage/device_name.hpp"
#include "storage/device_rows.hpp"
#include "storage/error.hpp"
#include "storage/sql_support.hpp"

namespace capf::storage {

using namespace sql;

void AuthStrings::set_auth_string_hash(const std::string& name, const std::string& hash,
                                       const std::string& actor) {
    set_auth_string_hashes({{name, hash}}, actor);
}

void AuthStrings::set_auth_string_hashes(
    const std::vector<std::pair<std::string, std::string>>& hashes, const std::string& actor) {
    std::vector<std::string> names, values;
    for (const auto& [raw_name, hash] : hashes) {
        if (hash.empty()) {
            throw StorageError(StorageErrc::invalid_value, "auth string hash must not be empty");
        }
        names.push_back(checked_device_name(raw_name));
        values.push_back(hash);
    }
    if (names.empty())
        return;
    pool_.transact([&](pqxx::work& txn) {
        // One statement: set the hashes and audit each device set (never
        // the hash). It returns only how many it set: naming the missing
        // device by an anti-join of the given names with the updated ones
        // was planned as a nested loop over the two CTEs (50 million
        // comparisons, 5 s, for 10,000 devices).
        const auto names_param = array_literal(names);
        const auto set = txn.exec_params1(R"SQL(
            WITH given AS (SELECT * FROM unnest($1::text[], $2::text[]) AS g(name, hash)),
            updated AS (
                UPDATE devices d
                SET auth_string_hash = given.hash, failed_auth_count = 0, auth_locked = false,
                    updated_at = now()
                FROM given
                WHERE d.name = given.name
                RETURNING d.name),
            audited AS (
                INSERT INTO audit_events (device, peer, event, outcome)
                SELECT name, $3, 'auth_string', 'set' FROM updated)
            SELECT count(*) FROM updated
        )SQL",
                                          names_param, array_literal(values), actor);
        if (set[0].as<std::size_t>() == names.size())
            return;
        // Fewer set than given: a device does not exist (naming it rolls
        // everything back), or a name was given twice (not an error).
        const auto missing = txn.exec_params(R"SQL(
            SELECT g.name FROM unnest($1::text[]) AS g(name)
            WHERE NOT EXISTS (SELECT 1 FROM devices d WHERE d.name = g.name)
            LIMIT 1
        )SQL",
                                             names_param);
        if (!missing.empty()) {
            throw StorageError(StorageErrc::not_found,
                               "no device named " + missing[0][0].as<std::string>());
        }
    });
}

void AuthStrings::clear_auth_string(const std::string& raw_name, const std::string& actor) {
    const std::string name = checked_device_name(raw_name);
    pool_.transact([&](pqxx::work& txn) {
        require_found(txn.exec_params(R"SQL(
                UPDATE devices SET auth_string_hash = NULL, updated_at = now() WHERE name = $1
            )SQL",
                                      name),
                      name);
        audit_in(txn, audit_event(name, actor, "", "auth_string", "deleted", ""));
    });
}

std::optional<std::string> AuthStrings::auth_string_hash(const std::string& raw_name) {
    const std::string name = checked_device_name(raw_name);
    const auto hash_of = [](const pqxx::row& r) -> std::optional<std::string> {
        if (r[0].is_null())
            return std::nullopt;
        return r[0].as<std::string>();
    };
    return first_row(pool_, R"SQL(
            SELECT auth_string_hash FROM devices WHERE name = $1
        )SQL",
                     hash_of, name)
        .value_or(std::nullopt);
}

AuthStringAttempt AuthStrings::begin_auth_string_attempt(const std::string& raw_name,
                                                         int lockout_after) {
    const std::string name = checked_device_name(raw_name);
    AuthStringAttempt out;
    pool_.transact([&](pqxx::work& txn) {
        const auto counted = txn.exec_params(R"SQL(
            UPDATE devices
            SET failed_auth_count = failed_auth_count + 1,
                auth_locked = failed_auth_count + 1 >= $2, updated_at = now()
            WHERE name = $1 AND auth_string_hash IS NOT NULL AND NOT auth_locked
            RETURNING auth_string_hash, auth_locked
        )SQL",
                                             name, lockout_after);
        if (!counted.empty()) {
            out = {AuthStringAttempt::Status::compare, counted[0][0].as<std::string>(),
                   counted[0][1].as<bool>()};
            return;
        }
        // Nothing counted; only say why.
        const auto state = txn.exec_params(R"SQL(
            SELECT auth_locked FROM devices WHERE name = $1
        )SQL",
                                           name);
        const bool locked = !state.empty() && state[0][0].as<bool>();
        out.status =
            locked ? AuthStringAttempt::Status::locked_out : AuthStringAttempt::Status::none_set;
    });
    return out;
}

bool AuthStrings::consume_auth_string(const std::string& raw_name, const std::string& hash) {
    const std::string name = checked_device_name(raw_name);
    return !one_statement(pool_, R"SQL(
            UPDATE devices
            SET auth_string_hash = NULL, failed_auth_count = 0, auth_locked = false,
                updated_at = now()
            WHERE name = $1 AND auth_string_hash = $2
            RETURNING name
        )SQL",
                          name, hash)
                .empty();
}

bool AuthStrings::acknowledge_auth_string_match(const std::string& raw_name,
                                                const std::string& hash, bool undo_own_lock) {
    const std::string name = checked_device_name(raw_name);
    // A lock set by other attempts stays until an administrator unlocks
    // or sets a new string; one set by this (matching) attempt, counted
    // before its comparison, was never a failure.
    return !one_statement(pool_, R"SQL(
            UPDATE devices SET failed_auth_count = 0,
                auth_locked = CASE WHEN $3 THEN false ELSE auth_locked END, updated_at = now()
            WHERE name = $1 AND auth_string_hash = $2
            RETURNING name
        )SQL",
                          name, hash, undo_own_lock)
                .empty();
}

void AuthStrings::unlock_auth_string(const std::string& raw_name, const std::string& actor) {
    const std::string name = checked_device_name(raw_name);
    pool_.transact([&](pqxx::work& txn) {
        require_found(txn.exec_params(R"SQL(
                UPDATE devices SET failed_auth_count = 0, auth_locked = false, updated_at = now()
                WHERE name = $1
            )SQL",
                                      name),
                      name);
        audit_in(txn, audit_event(name, actor, "", "auth_string", "unlocked", ""));
    });
}

std::vector<std::string> AuthStrings::devices_with_auth_string(const std::string& name_prefix) {
    DeviceFilter f;
    f.name_prefix = name_prefix;
    const auto p = params_of(f);
    std::vector<std::string> out;
    for (const auto& row : one_statement(pool_, R"SQL(
            SELECT name FROM devices
            WHERE auth_string_hash IS NOT NULL AND ($1 = '' OR starts_with(name, $1))
            ORDER BY name
        )SQL",
                                         p.prefix))
        out.push_back(row[0].as<std::string>());
    return out;
}

}  // namespace capf::storage
