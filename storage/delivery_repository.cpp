#include "storage/delivery_repository.hpp"

#include <algorithm>
#include <map>
#include <pqxx/pqxx>
#include <tuple>

#include "storage/connection_pool.hpp"
#include "storage/device_name.hpp"
#include "storage/error.hpp"
#include "storage/sql_support.hpp"

namespace capf::storage {
namespace {

using namespace sql;

constexpr std::size_t max_error_characters = 500;

/// The first key of the advisory locks on removed devices' names (an
/// arbitrary constant: "DLVR").
constexpr int removed_device_lock_space = 0x444c5652;

// What an encryptor sees of a device: the current LSC, or when there is
// none the certificate fetched from the phone, or nothing; never a
// certificate an administrator revoked (revoking the current LSC clears it,
// and this holds even for one confirmed after its revocation). Selected
// FROM devices d.
constexpr const char* facts_columns = R"SQL(
    d.name, d.key_spec,
    CASE WHEN u.lsc THEN d.lsc_der WHEN u.fetched THEN d.fetched_der END,
    CASE WHEN u.lsc THEN d.lsc_public_key WHEN u.fetched THEN d.fetched_public_key END,
    CASE WHEN u.lsc THEN d.lsc_md5 WHEN u.fetched THEN d.fetched_md5 ELSE '' END
)SQL";
/// Which of the two facts_columns may use: the LSC unless it is revoked;
/// the fetched certificate only when there is no LSC, and unless it is one
/// this CAPF issued and an administrator revoked.
constexpr const char* facts_usable = R"SQL(
    CROSS JOIN LATERAL (
        SELECT d.lsc_serial IS NOT NULL AND NOT EXISTS (
                   SELECT 1 FROM issued_certificates i
                   WHERE i.serial = d.lsc_serial AND i.revoked_reason = 'revoked') AS lsc,
               d.lsc_serial IS NULL AND d.fetched_md5 IS NOT NULL AND NOT EXISTS (
                   SELECT 1 FROM issued_certificates i
                   WHERE i.device = d.name AND i.md5 = d.fetched_md5
                       AND i.revoked_reason = 'revoked') AS fetched) u
)SQL";

DeviceFacts facts_of(const pqxx::row& r) {
    DeviceFacts f;
    f.name = r[0].as<std::string>();
    f.key_spec = r[1].as<std::string>();
    if (!r[2].is_null())
        f.certificate_der = bytes_of(r[2]);
    if (!r[3].is_null())
        f.public_key_der = bytes_of(r[3]);
    f.md5_hex = r[4].as<std::string>();
    return f;
}

DeliveryChange change_of(const std::string& text) {
    for (auto c : {DeliveryChange::installed, DeliveryChange::fetched, DeliveryChange::deleted,
                   DeliveryChange::requested, DeliveryChange::revoked, DeliveryChange::removed}) {
        if (to_text(c) == text)
            return c;
    }
    throw StorageError(StorageErrc::invalid_value, "delivery change '" + text + "' is unknown");
}

/// The length of the valid UTF-8 sequence at `s[i]` (as PostgreSQL accepts
/// it: no overlong forms, surrogates or code points past U+10FFFF), or 0.
std::size_t utf8_sequence_length(const std::string& s, std::size_t i) {
    const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
    const unsigned char b = byte(i);
    std::size_t length = 0;
    unsigned char low = 0x80, high = 0xBF;  // the range of the second byte
    if (b >= 0x01 && b <= 0x7F)
        return 1;
    if (b >= 0xC2 && b <= 0xDF) {
        length = 2;
    } else if (b >= 0xE0 && b <= 0xEF) {
        length = 3;
        low = b == 0xE0 ? 0xA0 : 0x80;
        high = b == 0xED ? 0x9F : 0xBF;
    } else if (b >= 0xF0 && b <= 0xF4) {
        length = 4;
        low = b == 0xF0 ? 0x90 : 0x80;
        high = b == 0xF4 ? 0x8F : 0xBF;
    } else {
        return 0;
    }
    if (i + length > s.size() || byte(i + 1) < low || byte(i + 1) > high)
        return 0;
    for (std::size_t k = 2; k < length; ++k) {
        if (byte(i + k) < 0x80 || byte(i + k) > 0xBF)
            return 0;
    }
    return length;
}

/// An encryptor's message as the database can keep it: at most
/// max_error_characters characters, anything that is not valid UTF-8 (and
/// NUL, which text cannot hold) replaced by '?'. The message may quote a
/// file the encryptor read, so it is not trusted to be text.
std::string storable_error(const std::string& error) {
    std::string out;
    std::size_t characters = 0;
    for (std::size_t i = 0; i < error.size() && characters < max_error_characters; ++characters) {
        const std::size_t length = utf8_sequence_length(error, i);
        if (length == 0) {
            out += '?';
            ++i;
        } else {
            out.append(error, i, length);
            i += length;
        }
    }
    return out;
}

std::string ids_literal(const DeliveryBatch& batch) {
    std::vector<std::string> ids;
    ids.reserve(batch.ids.size());
    for (long long id : batch.ids)
        ids.push_back(std::to_string(id));
    return array_literal(ids);
}

/// A text[] column: nothing for NULL.
std::optional<std::vector<std::string>> text_array(const pqxx::field& f) {
    if (f.is_null())
        return std::nullopt;
    std::vector<std::string> out;
    auto parser = f.as_array();
    for (auto item = parser.get_next(); item.first != pqxx::array_parser::juncture::done;
         item = parser.get_next()) {
        if (item.first == pqxx::array_parser::juncture::string_value)
            out.push_back(item.second);
    }
    return out;
}

/// Sorted, without duplicates.
std::vector<std::string> distinct(std::vector<std::string> items) {
    std::sort(items.begin(), items.end());
    items.erase(std::unique(items.begin(), items.end()), items.end());
    return items;
}

/// The encryptors a batch's rows are owed to: nothing (every encryptor)
/// when any row is owed to all, else the union of theirs.
std::optional<std::vector<std::string>> owed_by_rows(
    const std::vector<std::optional<std::vector<std::string>>>& rows) {
    std::vector<std::string> all;
    for (const auto& row : rows) {
        if (!row)
            return std::nullopt;
        all.insert(all.end(), row->begin(), row->end());
    }
    return distinct(std::move(all));
}

/// A 'requested' row for `device`, owed to `encryptors` (nothing: to all).
/// A device removed meanwhile has nothing to deliver.
void request_in(pqxx::work& txn, const std::string& device,
                const std::optional<std::vector<std::string>>& encryptors) {
    if (encryptors) {
        txn.exec_params0(R"SQL(
            INSERT INTO deliveries (device, change, encryptors)
            SELECT name, 'requested', $2::text[] FROM devices WHERE name = $1
        )SQL",
                         device, array_literal(*encryptors));
    } else {
        txn.exec_params0(R"SQL(
            INSERT INTO deliveries (device, change)
            SELECT name, 'requested' FROM devices WHERE name = $1
        )SQL",
                         device);
    }
}

void requeue_lost_in(pqxx::work& txn, const std::string& device, const std::string& node,
                     const std::optional<std::vector<std::string>>& encryptors) {
    request_in(txn, device, encryptors);
    audit_in(txn, audit_event(device, "", node, "delivery", "lease_lost",
                              "queued again: another node may have delivered it meanwhile"));
}

/// The encryptors that ran in `outcome` (and so may have written).
std::vector<std::string> ran_in(const DeliveryOutcome& outcome) {
    std::vector<std::string> ran = outcome.delivered;
    for (const auto& f : outcome.failed)
        ran.push_back(f.encryptor);
    for (const auto& p : outcome.parked)
        ran.push_back(p.encryptor);
    return distinct(std::move(ran));
}

/// The encryptors the rows stay owed to: the failed and the not run.
std::vector<std::string> owed_after(const DeliveryOutcome& outcome) {
    std::vector<std::string> owed = outcome.not_run;
    for (const auto& f : outcome.failed)
        owed.push_back(f.encryptor);
    return distinct(std::move(owed));
}

/// Parks what could not succeed (keeping `since` while the cause stays) and
/// unparks what succeeded.
void record_parking_in(pqxx::work& txn, const std::string& device, const std::string& node,
                       const DeliveryOutcome& outcome) {
    for (const auto& p : outcome.parked) {
        const std::string error = storable_error(p.encryptor + ": " + p.error);
        txn.exec_params0(R"SQL(
            INSERT INTO parked_deliveries (device, encryptor, cause, error)
            VALUES ($1, $2, $3, $4)
            ON CONFLICT (device, encryptor) DO UPDATE
            SET since = CASE WHEN parked_deliveries.cause = EXCLUDED.cause
                             THEN parked_deliveries.since ELSE now() END,
                cause = EXCLUDED.cause, error = EXCLUDED.error, last_failed_at = now()
        )SQL",
                         device, p.encryptor, p.cause, error);
        audit_in(txn, audit_event(device, "", node, "delivery", "parked", p.cause + ": " + error));
    }
    if (!outcome.delivered.empty()) {
        txn.exec_params0(R"SQL(
            DELETE FROM parked_deliveries WHERE device = $1 AND encryptor = ANY($2::text[])
        )SQL",
                         device, array_literal(outcome.delivered));
    }
}

/// A name prefix in the stored (upper) case.
std::string upper(const std::string& text) {
    std::string out = text;
    for (char& c : out)
        c = (c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c;
    return out;
}

/// Locks up to `limit` devices with a due, unleased row and no row under a
/// live lease. A device another transaction holds is skipped (its change or
/// another claim is in flight): the next call gets it.
std::vector<std::string> lock_due_devices(pqxx::work& txn, std::size_t limit) {
    const auto r = txn.exec_params(R"SQL(
        SELECT d.name
        FROM devices d
        JOIN (SELECT device, min(next_attempt_at) AS due
              FROM deliveries
              WHERE delivered_at IS NULL AND next_attempt_at <= now()
                  AND (lease_owner IS NULL OR lease_expires_at <= now())
              GROUP BY device) c ON c.device = d.name
        WHERE NOT EXISTS (SELECT 1 FROM deliveries l
                          WHERE l.device = d.name AND l.delivered_at IS NULL
                              AND l.lease_expires_at > now())
        ORDER BY c.due, d.name
        LIMIT $1
        FOR NO KEY UPDATE OF d SKIP LOCKED
    )SQL",
                                   static_cast<long long>(limit));
    std::vector<std::string> names;
    for (const auto& row : r)
        names.push_back(row[0].as<std::string>());
    return names;
}

/// The same for devices that were removed and whose withdrawal is due: they
/// have no device row to lock, so a transaction-scoped advisory lock on the
/// name stands in for it (taken without waiting, like SKIP LOCKED).
std::vector<std::string> lock_due_removed_devices(pqxx::work& txn, std::size_t limit) {
    const auto r = txn.exec_params(R"SQL(
        SELECT x.device
        FROM deliveries x
        WHERE x.delivered_at IS NULL AND x.next_attempt_at <= now()
            AND (x.lease_owner IS NULL OR x.lease_expires_at <= now())
            AND NOT EXISTS (SELECT 1 FROM devices d WHERE d.name = x.device)
            AND NOT EXISTS (SELECT 1 FROM deliveries l
                            WHERE l.device = x.device AND l.delivered_at IS NULL
                                AND l.lease_expires_at > now())
        GROUP BY x.device
        ORDER BY min(x.next_attempt_at), x.device
        LIMIT $1
    )SQL",
                                   static_cast<long long>(limit));
    std::vector<std::string> names;
    for (const auto& row : r) {
        const auto name = row[0].as<std::string>();
        const bool locked =
            txn.exec_params1(R"SQL(SELECT pg_try_advisory_xact_lock($1, hashtext($2)))SQL",
                             removed_device_lock_space, name)[0]
                .as<bool>();
        if (locked)
            names.push_back(name);
    }
    return names;
}

/// Locks the rows `ids` that `node` leases and that are not delivered yet,
/// in id order (as the claim does, so that a claim taking over an expired
/// lease and the late owner's complete or fail cannot deadlock). Returns
/// how many.
std::size_t lock_leased_rows(pqxx::work& txn, const std::string& ids, const std::string& node) {
    return txn
        .exec_params(R"SQL(
        SELECT id FROM deliveries
        WHERE id = ANY($1::bigint[]) AND lease_owner = $2 AND delivered_at IS NULL
        ORDER BY id
        FOR UPDATE
    )SQL",
                     ids, node)
        .size();
}

/// Leases every undelivered row of the locked devices. This statement's
/// snapshot is newer than the lock: a claim that committed while we waited
/// for nothing (SKIP LOCKED) but before we locked is visible here, and its
/// live leases keep the device out (the NOT EXISTS also excludes live
/// leases of the rows themselves).
pqxx::result lease_rows(pqxx::work& txn, const std::vector<std::string>& devices,
                        const std::string& node, std::chrono::seconds lease) {
    return txn.exec_params(R"SQL(
        UPDATE deliveries x
        SET lease_owner = $2, lease_expires_at = now() + make_interval(secs => $3)
        WHERE x.device = ANY($1::text[]) AND x.delivered_at IS NULL
            AND NOT EXISTS (SELECT 1 FROM deliveries l
                            WHERE l.device = x.device AND l.delivered_at IS NULL
                                AND l.lease_expires_at > now())
        RETURNING x.device, x.id, x.change, x.attempts, x.encryptors
    )SQL",
                           array_literal(devices), node, static_cast<double>(lease.count()));
}

/// Locks the undelivered rows of `devices` in id order, before lease_rows
/// updates them (see lock_leased_rows).
void lock_device_rows(pqxx::work& txn, const std::vector<std::string>& devices) {
    txn.exec_params(R"SQL(
        SELECT id FROM deliveries
        WHERE device = ANY($1::text[]) AND delivered_at IS NULL
        ORDER BY id
        FOR UPDATE
    )SQL",
                    array_literal(devices));
}

}  // namespace

std::vector<DeliveryBatch> DeliveryRepository::claim_deliveries(const std::string& node,
                                                                std::size_t limit,
                                                                std::chrono::seconds lease) {
    if (node.empty())
        throw StorageError(StorageErrc::invalid_value, "a delivery claim needs a node name");
    std::vector<DeliveryBatch> out;
    if (limit == 0)
        return out;
    pool_.transact([&](pqxx::work& txn) {
        out.clear();  // a retried body starts afresh
        auto devices = lock_due_devices(txn, limit);
        if (devices.size() < limit) {
            for (auto& name : lock_due_removed_devices(txn, limit - devices.size()))
                devices.push_back(std::move(name));
        }
        if (devices.empty())
            return;
        lock_device_rows(txn, devices);
        // Rows come back in no particular order: gather them per device, by id.
        using Row =
            std::tuple<long long, std::string, int, std::optional<std::vector<std::string>>>;
        std::map<std::string, std::vector<Row>> rows;
        for (const auto& row : lease_rows(txn, devices, node, lease)) {
            rows[row[0].as<std::string>()].emplace_back(row[1].as<long long>(),
                                                        row[2].as<std::string>(), row[3].as<int>(),
                                                        text_array(row[4]));
        }
        std::map<std::string, DeviceFacts> facts;
        std::vector<std::string> leased;
        for (const auto& [device, unused] : rows)
            leased.push_back(device);
        const auto f = txn.exec_params(statement({R"SQL(SELECT)SQL", facts_columns,
                                                  R"SQL(FROM devices d)SQL", facts_usable, R"SQL(
            WHERE d.name = ANY($1::text[])
        )SQL"}),
                                       array_literal(leased));
        for (const auto& row : f)
            facts[row[0].as<std::string>()] = facts_of(row);
        for (const auto& device : devices) {  // oldest due first
            auto it = rows.find(device);
            if (it == rows.end())
                continue;
            std::sort(it->second.begin(), it->second.end());
            DeliveryBatch batch;
            batch.device = device;
            std::vector<std::optional<std::vector<std::string>>> owed;
            for (const auto& [id, change, attempts, encryptors] : it->second) {
                batch.ids.push_back(id);
                batch.changes.push_back(change_of(change));
                batch.attempts = std::max(batch.attempts, attempts);
                owed.push_back(encryptors);
            }
            batch.encryptors = owed_by_rows(owed);
            if (const auto known = facts.find(device); known != facts.end()) {
                batch.facts = known->second;
            } else {
                batch.facts.name = device;  // removed: only its withdrawal is left
                batch.facts.removed = true;
            }
            out.push_back(std::move(batch));
        }
    });
    return out;
}

std::size_t DeliveryRepository::release_deliveries(const DeliveryBatch& batch,
                                                   const std::string& node) {
    if (batch.ids.empty())
        return 0;
    std::size_t released = 0;
    pool_.transact([&](pqxx::work& txn) {
        lock_leased_rows(txn, ids_literal(batch), node);
        released = txn.exec_params(R"SQL(
            UPDATE deliveries
            SET lease_owner = NULL, lease_expires_at = NULL
            WHERE id = ANY($1::bigint[]) AND lease_owner = $2 AND delivered_at IS NULL
        )SQL",
                                   ids_literal(batch), node)
                       .affected_rows();
    });
    return released;
}

DeliveryFinish DeliveryRepository::finish_delivery(const DeliveryBatch& batch,
                                                   const std::string& node,
                                                   const DeliveryOutcome& outcome,
                                                   std::chrono::seconds backoff) {
    if (batch.ids.empty())
        throw StorageError(StorageErrc::invalid_value, "a delivery batch without rows");
    const std::vector<std::string> owed = owed_after(outcome);
    const std::string first_failure = outcome.failed.empty()
                                          ? std::string()
                                          : storable_error(outcome.failed.front().encryptor + ": " +
                                                           outcome.failed.front().error);
    DeliveryFinish result = DeliveryFinish::delivered;
    pool_.transact([&](pqxx::work& txn) {
        // Locked first, so that all of the rows or none change.
        if (lock_leased_rows(txn, ids_literal(batch), node) != batch.ids.size()) {
            result = DeliveryFinish::lease_lost;
            if (outcome.acted())
                requeue_lost_in(txn, batch.device, node, ran_in(outcome));
            return;
        }
        record_parking_in(txn, batch.device, node, outcome);
        if (owed.empty()) {
            result = DeliveryFinish::delivered;
            txn.exec_params0(R"SQL(
                UPDATE deliveries
                SET delivered_at = now(), lease_owner = NULL, lease_expires_at = NULL
                WHERE id = ANY($1::bigint[])
            )SQL",
                             ids_literal(batch));
            return;
        }
        result = DeliveryFinish::owed_again;
        if (outcome.failed.empty()) {
            // Only the lease ran short: due again at once, not a failure.
            txn.exec_params0(R"SQL(
                UPDATE deliveries
                SET encryptors = $2::text[], lease_owner = NULL, lease_expires_at = NULL
                WHERE id = ANY($1::bigint[])
            )SQL",
                             ids_literal(batch), array_literal(owed));
            return;
        }
        txn.exec_params0(R"SQL(
            UPDATE deliveries
            SET encryptors = $2::text[], attempts = attempts + 1, last_error = $3,
                last_error_at = now(), next_attempt_at = now() + make_interval(secs => $4),
                lease_owner = NULL, lease_expires_at = NULL
            WHERE id = ANY($1::bigint[])
        )SQL",
                         ids_literal(batch), array_literal(owed), first_failure,
                         static_cast<double>(backoff.count()));
        audit_in(txn, audit_event(batch.device, "", node, "delivery", "failed", first_failure));
    });
    return result;
}

std::vector<ParkedDelivery> DeliveryRepository::parked_deliveries(
    const ParkedFilter& filter, const std::string& after_device, const std::string& after_encryptor,
    std::size_t limit) {
    const std::string device = filter.device.empty() ? "" : checked_device_name(filter.device);
    std::vector<ParkedDelivery> out;
    pool_.transact([&](pqxx::work& txn) {
        out.clear();
        const auto r = txn.exec_params(R"SQL(
            SELECT device, encryptor, cause, error, extract(epoch FROM since),
                extract(epoch FROM last_failed_at)
            FROM parked_deliveries
            WHERE ($1 = '' OR device = $1) AND ($2 = '' OR encryptor = $2)
                AND ($3 = '' OR cause = $3) AND (device, encryptor) > ($4, $5)
            ORDER BY device, encryptor
            LIMIT $6
        )SQL",
                                       device, filter.encryptor, filter.cause, after_device,
                                       after_encryptor, static_cast<long long>(limit));
        for (const auto& row : r) {
            out.push_back(ParkedDelivery{row[0].as<std::string>(), row[1].as<std::string>(),
                                         row[2].as<std::string>(), row[3].as<std::string>(),
                                         *time_of(row[4]), *time_of(row[5])});
        }
    });
    return out;
}

std::size_t DeliveryRepository::retry_parked(const std::string& encryptor,
                                             const std::vector<std::string>& devices,
                                             const std::string& actor) {
    if (devices.empty())
        return 0;
    std::size_t retried = 0;
    pool_.transact([&](pqxx::work& txn) {
        retried = txn.exec_params(R"SQL(
            INSERT INTO deliveries (device, change, encryptors)
            SELECT p.device, 'requested', ARRAY[p.encryptor]
            FROM parked_deliveries p
            WHERE p.encryptor = $1 AND p.device = ANY($2::text[])
                AND NOT EXISTS (SELECT 1 FROM deliveries d
                                WHERE d.device = p.device AND d.delivered_at IS NULL
                                    AND (d.encryptors IS NULL OR p.encryptor = ANY(d.encryptors)))
        )SQL",
                                  encryptor, array_literal(devices))
                      .affected_rows();
        if (retried > 0)
            audit_in(txn, audit_event("", actor, "", "delivery", "requested",
                                      "parked " + encryptor + " retried (" +
                                          std::to_string(retried) + " devices)"));
    });
    return retried;
}

void DeliveryRepository::request_delivery(const std::string& raw_device, const std::string& actor) {
    const std::string device = checked_device_name(raw_device);
    pool_.transact([&](pqxx::work& txn) {
        const auto r = txn.exec_params(R"SQL(
            INSERT INTO deliveries (device, change)
            SELECT name, 'requested' FROM devices WHERE name = $1
        )SQL",
                                       device);
        if (r.affected_rows() == 0)
            throw StorageError(StorageErrc::not_found, "no device named " + device);
        audit_in(txn, audit_event(device, actor, "", "delivery", "requested", ""));
    });
}

std::size_t DeliveryRepository::request_delivery_all(const std::string& actor) {
    std::size_t requested = 0;
    pool_.transact([&](pqxx::work& txn) {
        requested = txn.exec(R"SQL(
            INSERT INTO deliveries (device, change)
            SELECT name, 'requested' FROM devices
        )SQL")
                        .affected_rows();
        audit_in(txn, audit_event("", actor, "", "delivery", "requested",
                                  "all devices (" + std::to_string(requested) + ")"));
    });
    return requested;
}

DeliveryStats DeliveryRepository::delivery_stats() {
    DeliveryStats out;
    pool_.transact([&](pqxx::work& txn) {
        const auto pending = txn.exec1(R"SQL(
            SELECT count(*), count(*) FILTER (WHERE attempts > 0),
                extract(epoch FROM min(created_at)),
                (SELECT count(*) FROM deliveries
                 WHERE delivered_at IS NOT NULL AND delivered_at >= now() - interval '1 hour'),
                (SELECT count(*) FROM parked_deliveries)
            FROM deliveries
            WHERE delivered_at IS NULL
        )SQL");
        out.pending = pending[0].as<std::size_t>();
        out.failing = pending[1].as<std::size_t>();
        out.oldest_pending = time_of(pending[2]);
        out.delivered_last_hour = pending[3].as<std::size_t>();
        out.parked = pending[4].as<std::size_t>();
        const auto last = txn.exec(R"SQL(
            SELECT last_error, extract(epoch FROM last_error_at)
            FROM deliveries
            WHERE last_error_at IS NOT NULL
            ORDER BY last_error_at DESC, id DESC
            LIMIT 1
        )SQL");
        if (!last.empty()) {
            out.last_error = last[0][0].as<std::string>();
            out.last_error_at = time_of(last[0][1]);
        }
    });
    return out;
}

std::optional<DeviceFacts> DeliveryRepository::device_facts(const std::string& raw_device) {
    const std::string device = checked_device_name(raw_device);
    std::optional<DeviceFacts> out;
    pool_.transact([&](pqxx::work& txn) {
        const auto r = txn.exec_params(statement({R"SQL(SELECT)SQL", facts_columns,
                                                  R"SQL(FROM devices d)SQL", facts_usable, R"SQL(
            WHERE d.name = $1
        )SQL"}),
                                       device);
        if (!r.empty())
            out = facts_of(r[0]);
    });
    return out;
}

std::vector<DeviceFacts> DeliveryRepository::all_device_facts(const std::string& prefix,
                                                              const std::string& after,
                                                              std::size_t limit) {
    std::vector<DeviceFacts> out;
    pool_.transact([&](pqxx::work& txn) {
        out.clear();
        const auto r = txn.exec_params(statement({R"SQL(SELECT)SQL", facts_columns,
                                                  R"SQL(FROM devices d)SQL", facts_usable, R"SQL(
            WHERE ($1 = '' OR starts_with(d.name, $1)) AND d.name > $2
            ORDER BY d.name
            LIMIT $3
        )SQL"}),
                                       upper(prefix), upper(after), static_cast<long long>(limit));
        for (const auto& row : r)
            out.push_back(facts_of(row));
    });
    return out;
}

std::size_t DeliveryRepository::purge_delivered(std::chrono::seconds age, std::size_t limit) {
    std::size_t purged = 0;
    pool_.transact([&](pqxx::work& txn) {
        purged = txn.exec_params(R"SQL(
            DELETE FROM deliveries
            WHERE id IN (SELECT id FROM deliveries
                         WHERE delivered_at IS NOT NULL
                             AND delivered_at < now() - make_interval(secs => $1)
                         LIMIT $2
                         FOR UPDATE SKIP LOCKED)
        )SQL",
                                 static_cast<double>(age.count()), static_cast<long long>(limit))
                     .affected_rows();
    });
    return purged;
}

}  // namespace capf::storage
