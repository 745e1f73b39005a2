#include "storage/cluster_settings.hpp"

#include "storage/connection_pool.hpp"
#include "storage/error.hpp"
#include "storage/sql_support.hpp"

namespace capf::storage {

std::optional<ClusterSetting> ClusterSettings::get(const std::string& key) {
    std::optional<ClusterSetting> out;
    pool_.transact([&](pqxx::work& txn) {
        const auto r = txn.exec_params(R"SQL(
            SELECT value::text, changed_by, extract(epoch FROM changed_at)
            FROM cluster_settings WHERE key = $1
        )SQL",
                                       key);
        if (!r.empty())
            out = ClusterSetting{key, r[0][0].as<std::string>(), r[0][1].as<std::string>(),
                                 sql::time_of(r[0][2])};
    });
    return out;
}

bool ClusterSettings::flag(const std::string& key) {
    bool on = false;
    pool_.transact([&](pqxx::work& txn) {
        const auto r = txn.exec_params(R"SQL(
            SELECT value = 'true'::jsonb FROM cluster_settings WHERE key = $1
        )SQL",
                                       key);
        on = !r.empty() && r[0][0].as<bool>();
    });
    return on;
}

bool ClusterSettings::set(const std::string& key, const std::string& value_json,
                          const std::string& by) {
    bool changed = false;
    try {
        pool_.transact([&](pqxx::work& txn) {
            // The row locked (or its absence settled by the insert's
            // conflict) before the old value is read: two administrators
            // switching at once each audit what they changed.
            const auto old = txn.exec_params(R"SQL(
                SELECT value::text FROM cluster_settings WHERE key = $1 FOR UPDATE
            )SQL",
                                             key);
            const auto r = txn.exec_params(R"SQL(
                INSERT INTO cluster_settings (key, value, changed_by) VALUES ($1, $2::jsonb, $3)
                ON CONFLICT (key) DO UPDATE
                    SET value = excluded.value, changed_by = excluded.changed_by,
                        changed_at = now()
                    WHERE cluster_settings.value IS DISTINCT FROM excluded.value
                RETURNING value::text
            )SQL",
                                           key, value_json, by);
            changed = r.affected_rows() > 0;
            if (!changed)
                return;
            const std::string before = old.empty() ? "unset" : old[0][0].as<std::string>();
            sql::audit_in(
                txn, sql::audit_event("", by, "", "cluster_setting", "changed",
                                      key + " " + before + " -> " + r[0][0].as<std::string>()));
        });
    } catch (const pqxx::data_exception& e) {
        // A CHECK on the key, or text that is not JSON.
        throw StorageError(StorageErrc::invalid_value,
                           "cluster setting " + key + ": " + std::string(e.what()));
    }
    return changed;
}

bool ClusterSettings::set_flag(const std::string& key, bool on, const std::string& by) {
    return set(key, on ? "true" : "false", by);
}

}  // namespace capf::storage
