#include "storage/device_rows.hpp"

#include "storage/error.hpp"

namespace capf::storage::sql {

FilterParams params_of(const DeviceFilter& f) {
    FilterParams p;
    if (!f.name_prefix.empty()) {
        // A prefix is a partial name: same characters, canonical case.
        std::string upper;
        for (char c : f.name_prefix)
            upper += (c >= 'a' && c <= 'z') ? static_cast<char>(c - 32) : c;
        p.prefix = upper;
    }
    if (f.operation)
        p.operation = std::string(to_text(*f.operation));
    if (f.status)
        p.status = std::string(to_text(*f.status));
    p.expiring = epoch_param(f.lsc_expiring_before);
    return p;
}

void require_found(const pqxx::result& r, const std::string& name) {
    if (r.affected_rows() == 0) {
        throw StorageError(StorageErrc::not_found, "no device named " + name);
    }
}

void revoke_in(pqxx::work& txn, const std::string& device, const std::string& reason,
               Fragment which, const std::string& serial_hex) {
    txn.exec_params0(statement({R"SQL(
        UPDATE issued_certificates SET revoked_at = now(), revoked_reason = $3
        WHERE device = $1 AND revoked_at IS NULL AND
    )SQL",
                                which}),
                     device, serial_hex, reason);
}

}  // namespace capf::storage::sql
