#include "storage/trust_anchor_repository.hpp"

#include "storage/connection_pool.hpp"
#include "storage/error.hpp"
#include "storage/sql_support.hpp"

namespace capf::storage {

void TrustAnchorRepository::add(const StoredTrustAnchor& a) {
    if (a.der.empty()) {
        throw StorageError(StorageErrc::invalid_value, "a trust anchor needs its certificate");
    }
    pool_.transact([&](pqxx::work& txn) {
        const auto r =
            txn.exec_params(R"SQL(
            INSERT INTO trust_anchors (role, sha256, der, subject, added_by)
            VALUES ($1, $2, $3, $4, $5)
            ON CONFLICT (role, sha256) DO NOTHING
        )SQL",
                            a.role, a.sha256_hex, sql::blob(a.der), a.subject, a.added_by);
        if (r.affected_rows() == 0) {
            throw StorageError(
                StorageErrc::already_exists,
                "certificate " + a.sha256_hex + " is already a " + a.role + " trust anchor");
        }
        sql::audit_in(txn, sql::audit_event("", a.added_by, "", "trust_anchor", "added",
                                            a.role + " " + a.sha256_hex + " " + a.subject));
    });
}

void TrustAnchorRepository::remove(const std::string& role, const std::string& sha256_hex,
                                   const std::string& by) {
    pool_.transact([&](pqxx::work& txn) {
        const auto r = txn.exec_params(R"SQL(
            DELETE FROM trust_anchors WHERE role = $1 AND sha256 = $2 RETURNING subject
        )SQL",
                                       role, sha256_hex);
        if (r.empty()) {
            throw StorageError(StorageErrc::not_found,
                               "no " + role + " trust anchor added with fingerprint " + sha256_hex);
        }
        sql::audit_in(txn,
                      sql::audit_event("", by, "", "trust_anchor", "removed",
                                       role + " " + sha256_hex + " " + r[0][0].as<std::string>()));
    });
}

std::vector<StoredTrustAnchor> TrustAnchorRepository::list(const std::string& role) {
    std::vector<StoredTrustAnchor> out;
    pool_.transact([&](pqxx::work& txn) {
        const auto r = txn.exec_params(R"SQL(
            SELECT role, sha256, der, subject, added_by, extract(epoch FROM added_at)
            FROM trust_anchors
            WHERE ($1 = '' OR role = $1)
            ORDER BY added_at, sha256
        )SQL",
                                       role);
        for (const auto& row : r) {
            out.push_back(StoredTrustAnchor{row[0].as<std::string>(), row[1].as<std::string>(),
                                            sql::bytes_of(row[2]), row[3].as<std::string>(),
                                            row[4].as<std::string>(), sql::time_of(row[5])});
        }
    });
    return out;
}

}  // namespace capf::storage
