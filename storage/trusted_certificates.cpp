#include "storage/trusted_certificates.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <limits>

#include "storage/connection_pool.hpp"
#include "storage/sql_support.hpp"

namespace capf::storage {
namespace {

/// The ITL role numbers of section 9; the table's CHECK holds the same list.
constexpr std::uint16_t itl_role_numbers[] = {0, 1, 2, 3, 4, 7, 21};
constexpr std::size_t sha256_hex_digits = 64;

constexpr sql::Fragment select_columns = R"SQL(
    SELECT sha256, der, subject, issuer, serial, array_to_string(roles, ','), ttl_seconds,
           extract(epoch FROM not_after), added_by, extract(epoch FROM added_at), automatic,
           coalesce(node, '')
    FROM trusted_certificates
)SQL";
constexpr sql::Fragment oldest_first = "ORDER BY added_at, sha256";

bool is_lower_hex(const std::string& text) {
    return text.find_first_not_of("0123456789abcdef") == std::string::npos;
}

std::vector<std::uint16_t> parse_roles(const std::string& text) {
    std::vector<std::uint16_t> roles;
    const char* p = text.data();
    const char* end = p + text.size();
    while (p < end) {
        std::uint16_t n = 0;
        p = std::from_chars(p, end, n).ptr;
        roles.push_back(n);
        if (p < end)
            ++p;  // the comma
    }
    return roles;
}

TrustedCertificate row_of(const pqxx::row& row) {
    TrustedCertificate c;
    c.sha256_hex = row[0].as<std::string>();
    c.der = sql::bytes_of(row[1]);
    c.subject = row[2].as<std::string>();
    c.issuer = row[3].as<std::string>();
    c.serial_hex = row[4].as<std::string>();
    c.roles = parse_roles(row[5].as<std::string>());
    c.ttl = std::chrono::seconds(row[6].as<long long>());
    c.not_after = sql::time_of(row[7]).value_or(TimePoint{});
    c.added_by = row[8].as<std::string>();
    c.added_at = sql::time_of(row[9]);
    c.automatic = row[10].as<bool>();
    c.node = row[11].as<std::string>();
    return c;
}

std::vector<TrustedCertificate> rows_of(const pqxx::result& r) {
    std::vector<TrustedCertificate> out;
    out.reserve(r.size());
    for (const auto& row : r)
        out.push_back(row_of(row));
    return out;
}

/// "{3,4}": the roles as a smallint[] parameter.
std::string roles_literal(const std::vector<std::uint16_t>& roles) {
    std::string out = "{";
    for (std::size_t i = 0; i < roles.size(); ++i)
        out += (i > 0 ? "," : "") + std::to_string(roles[i]);
    return out + "}";
}

/// Throws invalid_value for what the table would refuse, saying which
/// certificate and why, before any statement runs.
void check(const TrustedCertificate& c) {
    const std::string which = "trusted certificate " + c.sha256_hex;
    if (c.sha256_hex.size() != sha256_hex_digits || !is_lower_hex(c.sha256_hex))
        throw StorageError(StorageErrc::invalid_value,
                           "'" + c.sha256_hex + "' is not a SHA-256 as 64 lowercase hex digits");
    if (c.der.empty())
        throw StorageError(StorageErrc::invalid_value, which + " has no DER");
    if (c.serial_hex.empty() || !is_lower_hex(c.serial_hex))
        throw StorageError(StorageErrc::invalid_value, which + ": serial must be lowercase hex");
    if (c.roles.empty())
        throw StorageError(StorageErrc::invalid_value, which + " needs at least one role");
    for (const auto role : c.roles) {
        if (std::find(std::begin(itl_role_numbers), std::end(itl_role_numbers), role) ==
            std::end(itl_role_numbers))
            throw StorageError(StorageErrc::invalid_value,
                               which + ": " + std::to_string(role) +
                                   " is not an ITL role number (0, 1, 2, 3, 4, 7, 21)");
    }
    if (c.ttl.count() < 1 || c.ttl.count() > std::numeric_limits<std::int32_t>::max())
        throw StorageError(StorageErrc::invalid_value,
                           which + ": the TTL must be 1 to 2147483647 seconds");
}

/// One entry per hash, in the order first given, roles joined (ascending,
/// without repeats), the first one's TTL; each checked.
std::vector<TrustedCertificate> merged(const std::vector<TrustedCertificate>& in) {
    std::vector<TrustedCertificate> out;
    for (const auto& c : in) {
        auto same = std::find_if(out.begin(), out.end(),
                                 [&c](const auto& o) { return o.sha256_hex == c.sha256_hex; });
        if (same == out.end()) {
            out.push_back(c);
        } else {
            same->roles.insert(same->roles.end(), c.roles.begin(), c.roles.end());
        }
    }
    for (auto& c : out) {
        std::sort(c.roles.begin(), c.roles.end());
        c.roles.erase(std::unique(c.roles.begin(), c.roles.end()), c.roles.end());
        check(c);
    }
    return out;
}

/// "roles 3,4 ttl 86400s CN=..., O=...": what an audit row says of a change.
std::string audit_detail(const TrustedCertificate& c) {
    std::string roles;
    for (const auto role : c.roles)
        roles += (roles.empty() ? "" : ",") + std::to_string(role);
    return c.sha256_hex + " roles " + roles + " ttl " + std::to_string(c.ttl.count()) + "s " +
           c.subject;
}

/// Inserts `c` with the given ownership; whether a row was added (false:
/// its hash is stored already).
bool insert_in(pqxx::work& txn, const TrustedCertificate& c, const std::string& added_by,
               const std::string& node) {
    const auto r = txn.exec_params(
        R"SQL(
        INSERT INTO trusted_certificates
            (sha256, der, subject, issuer, serial, roles, ttl_seconds, not_after, added_by,
             automatic, node)
        VALUES ($1, $2, $3, $4, $5, $6::smallint[], $7, to_timestamp($8::double precision), $9,
                $10 <> '', NULLIF($10, ''))
        ON CONFLICT (sha256) DO NOTHING
    )SQL",
        c.sha256_hex, sql::blob(c.der), c.subject, c.issuer, c.serial_hex, roles_literal(c.roles),
        static_cast<long long>(c.ttl.count()), sql::epoch_param(c.not_after), added_by, node);
    return r.affected_rows() == 1;
}

/// An operator's add of one (merged, checked) certificate.
TrustedCertificateChange add_in(pqxx::work& txn, const TrustedCertificate& c,
                                const std::string& actor) {
    if (insert_in(txn, c, actor, "")) {
        sql::audit_in(txn,
                      sql::audit_event("", actor, "", "tvs_certificate", "added", audit_detail(c)));
        return TrustedCertificateChange::added;
    }
    const auto stored = txn.exec_params(R"SQL(
        SELECT automatic FROM trusted_certificates WHERE sha256 = $1 FOR UPDATE
    )SQL",
                                        c.sha256_hex);
    if (!stored.empty() && stored[0][0].as<bool>())
        return TrustedCertificateChange::kept_automatic;
    const auto r = txn.exec_params(R"SQL(
        UPDATE trusted_certificates SET roles = $2::smallint[], ttl_seconds = $3
        WHERE sha256 = $1 AND (roles <> $2::smallint[] OR ttl_seconds <> $3)
    )SQL",
                                   c.sha256_hex, roles_literal(c.roles),
                                   static_cast<long long>(c.ttl.count()));
    if (r.affected_rows() == 0)
        return TrustedCertificateChange::unchanged;
    sql::audit_in(txn,
                  sql::audit_event("", actor, "", "tvs_certificate", "updated", audit_detail(c)));
    return TrustedCertificateChange::updated;
}

/// Makes `c` one of `node`'s own; "added", "updated" or "" when it was so.
std::string claim_in(pqxx::work& txn, const std::string& node, const TrustedCertificate& c) {
    if (insert_in(txn, c, node, node))
        return "automatic_added";
    const auto r = txn.exec_params(R"SQL(
        UPDATE trusted_certificates
        SET roles = $2::smallint[], ttl_seconds = $3, automatic = true, node = $4, added_by = $4
        WHERE sha256 = $1
            AND (roles <> $2::smallint[] OR ttl_seconds <> $3 OR NOT automatic
                 OR node IS DISTINCT FROM $4)
    )SQL",
                                   c.sha256_hex, roles_literal(c.roles),
                                   static_cast<long long>(c.ttl.count()), node);
    return r.affected_rows() == 1 ? "automatic_updated" : "";
}

}  // namespace

std::string_view to_text(TrustedCertificateChange change) noexcept {
    switch (change) {
        case TrustedCertificateChange::added:
            return "added";
        case TrustedCertificateChange::updated:
            return "updated";
        case TrustedCertificateChange::unchanged:
            return "unchanged";
        case TrustedCertificateChange::kept_automatic:
            return "kept-automatic";
    }
    return "unknown";
}

TrustedCertificateChange TrustedCertificateRepository::add(const TrustedCertificate& certificate,
                                                           const std::string& actor) {
    const auto c = merged({certificate}).front();
    TrustedCertificateChange change = TrustedCertificateChange::unchanged;
    pool_.transact([&](pqxx::work& txn) {
        change = add_in(txn, c, actor);
        if (change == TrustedCertificateChange::kept_automatic) {
            const auto owner = txn.exec_params(R"SQL(
                SELECT node FROM trusted_certificates WHERE sha256 = $1
            )SQL",
                                               c.sha256_hex);
            throw StorageError(StorageErrc::conflict,
                               "certificate " + c.sha256_hex + " is capfd's own (node " +
                                   owner[0][0].as<std::string>() +
                                   "): its roles and TTL follow that node's configuration");
        }
    });
    return change;
}

std::vector<std::pair<std::string, TrustedCertificateChange>> TrustedCertificateRepository::add_all(
    const std::vector<TrustedCertificate>& certificates, const std::string& actor) {
    const auto entries = merged(certificates);
    std::vector<std::pair<std::string, TrustedCertificateChange>> out;
    pool_.transact([&](pqxx::work& txn) {
        out.clear();
        for (const auto& c : entries)
            out.emplace_back(c.sha256_hex, add_in(txn, c, actor));
    });
    return out;
}

std::vector<TrustedCertificate> TrustedCertificateRepository::list(
    std::optional<std::uint16_t> role) {
    std::vector<TrustedCertificate> out;
    pool_.autocommit([&](pqxx::nontransaction& txn) {
        out = rows_of(txn.exec_params(
            sql::statement({select_columns, "WHERE $1::integer < 0 OR $1::integer = ANY(roles)",
                            oldest_first}),
            role ? static_cast<int>(*role) : -1));
    });
    return out;
}

std::vector<TrustedCertificate> TrustedCertificateRepository::find_by_prefix(
    const std::string& hex_prefix) {
    std::string prefix;
    for (const char ch : hex_prefix)
        prefix.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(ch))));
    if (prefix.empty() || prefix.size() > sha256_hex_digits || !is_lower_hex(prefix)) {
        throw StorageError(StorageErrc::invalid_value,
                           "hash prefix '" + hex_prefix +
                               "' must be 1 to 64 hex digits of a certificate's SHA-256");
    }
    std::vector<TrustedCertificate> out;
    pool_.autocommit([&](pqxx::nontransaction& txn) {
        // Hex digits only, so the prefix holds no LIKE wildcard.
        out = rows_of(txn.exec_params(
            sql::statement({select_columns, "WHERE sha256 LIKE $1 || '%'", oldest_first}), prefix));
    });
    return out;
}

TrustedCertificate TrustedCertificateRepository::remove(const std::string& sha256_hex,
                                                        const std::string& actor) {
    TrustedCertificate removed;
    pool_.transact([&](pqxx::work& txn) {
        const auto r = txn.exec_params(
            sql::statement({select_columns, "WHERE sha256 = $1 FOR UPDATE"}), sha256_hex);
        if (r.empty()) {
            throw StorageError(StorageErrc::not_found,
                               "no trusted certificate has the SHA-256 " + sha256_hex);
        }
        removed = row_of(r[0]);
        if (removed.automatic) {
            throw StorageError(StorageErrc::conflict,
                               "certificate " + sha256_hex + " (" + removed.subject +
                                   ") is capfd's own (node " + removed.node +
                                   "); it goes when that node no longer uses it");
        }
        txn.exec_params0(R"SQL(DELETE FROM trusted_certificates WHERE sha256 = $1)SQL", sha256_hex);
        sql::audit_in(txn, sql::audit_event("", actor, "", "tvs_certificate", "removed",
                                            audit_detail(removed)));
    });
    return removed;
}

std::int64_t TrustedCertificateRepository::version() {
    std::int64_t v = 0;
    pool_.autocommit([&](pqxx::nontransaction& txn) {
        v = txn.exec1(R"SQL(SELECT version FROM trusted_certificates_version)SQL")[0]
                .as<std::int64_t>();
    });
    return v;
}

TrustedCertificateSnapshot TrustedCertificateRepository::load_all() {
    TrustedCertificateSnapshot snapshot;
    pool_.transact([&](pqxx::work& txn) {
        snapshot.version = txn.exec1(R"SQL(SELECT version FROM trusted_certificates_version)SQL")[0]
                               .as<std::int64_t>();
        snapshot.certificates = rows_of(txn.exec(sql::statement({select_columns, oldest_first})));
    });
    return snapshot;
}

bool TrustedCertificateRepository::replace_automatic(
    const std::string& node, const std::vector<TrustedCertificate>& certificates) {
    if (node.empty())
        throw StorageError(StorageErrc::invalid_value, "automatic certificates need a node name");
    const auto entries = merged(certificates);
    std::vector<std::string> kept;
    for (const auto& c : entries)
        kept.push_back(c.sha256_hex);
    bool changed = false;
    pool_.transact([&](pqxx::work& txn) {
        changed = false;
        const auto gone = txn.exec_params(
            R"SQL(
            DELETE FROM trusted_certificates
            WHERE automatic AND node = $1 AND NOT (sha256 = ANY($2::text[]))
            RETURNING sha256, subject
        )SQL",
            node, sql::array_literal(kept));
        for (const auto& row : gone) {
            sql::audit_in(
                txn, sql::audit_event("", "", node, "tvs_certificate", "automatic_removed",
                                      row[0].as<std::string>() + " " + row[1].as<std::string>()));
        }
        changed = !gone.empty();
        for (const auto& c : entries) {
            const std::string outcome = claim_in(txn, node, c);
            if (outcome.empty())
                continue;
            sql::audit_in(
                txn, sql::audit_event("", "", node, "tvs_certificate", outcome, audit_detail(c)));
            changed = true;
        }
    });
    return changed;
}

}  // namespace capf::storage
