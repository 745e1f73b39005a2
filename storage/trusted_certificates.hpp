// The Trust Verification Service's store of trusted certificates (protocol
// page, section 11), shared by every node through the database: each
// certificate by the SHA-256 of its DER, with its ITL roles and the TTL a
// phone may cache the answer. Nodes serve TVS from an in-memory view of
// it, reloaded when version() moves (poll the counter; never a query per
// request). Calls as described in devices.hpp.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "storage/connection_pool_fwd.hpp"
#include "storage/error.hpp"
#include "storage/types.hpp"

namespace capf::storage {

/// A trusted certificate as the store keeps it. Roles are ITL role numbers
/// (section 9: 0 SAST, 1 CCM, 2 CCM+TFTP, 3 TFTP, 4 CAPF, 7 application
/// server, 21 TVS); their names live in protocol/itl_role_names.hpp.
struct TrustedCertificate {
    std::string sha256_hex;  ///< of `der`, 64 lowercase hex digits
    Bytes der;
    std::string subject;  ///< as people read it
    std::string issuer;
    std::string serial_hex;            ///< lowercase hex
    std::vector<std::uint16_t> roles;  ///< read back ascending, without repeats
    std::chrono::seconds ttl{0};
    TimePoint not_after{};
    std::string added_by;               ///< the operator, or the node for its own
    std::optional<TimePoint> added_at;  ///< set when read back
    bool automatic = false;             ///< a node's own certificate, kept by that node
    std::string node;                   ///< that node; empty for an operator's
};

/// What adding a certificate did.
enum class TrustedCertificateChange {
    added,           ///< a new row
    updated,         ///< its hash was stored: roles or TTL changed
    unchanged,       ///< its hash was stored with these roles and TTL
    kept_automatic,  ///< a node's own certificate: left as that node keeps it
};

/// The counter and the certificates it stands for.
struct TrustedCertificateSnapshot {
    std::int64_t version = 0;
    std::vector<TrustedCertificate> certificates;
};

/// Role numbers that no ITL role has are refused (invalid_value), as are
/// TTLs under one second and malformed hashes.
class TrustedCertificateRepository {
  public:
    /// Lifetime: the pool must outlive the repository.
    explicit TrustedCertificateRepository(ConnectionPool& pool) : pool_(pool) {}

    /// An operator's certificate: added, or when its hash is stored, given
    /// these roles and this TTL. Audited with `actor` in the same
    /// transaction. Throws StorageError: invalid_value, conflict (it is a
    /// node's own certificate, whose roles follow that node).
    TrustedCertificateChange add(const TrustedCertificate& certificate, const std::string& actor);

    /// add() of each in one transaction, all or nothing; a node's own
    /// certificate is left as it is (kept_automatic) instead of refused.
    /// Entries with the same hash are one certificate: their roles joined,
    /// the first one's TTL. Returns each hash once, in the order given.
    std::vector<std::pair<std::string, TrustedCertificateChange>> add_all(
        const std::vector<TrustedCertificate>& certificates, const std::string& actor);

    /// The certificates holding `role` (nothing: all), oldest first.
    std::vector<TrustedCertificate> list(std::optional<std::uint16_t> role = std::nullopt);

    /// Every certificate whose hash starts with `hex_prefix` (any case),
    /// oldest first. Throws invalid_value when the prefix is empty, longer
    /// than a hash, or not hex.
    std::vector<TrustedCertificate> find_by_prefix(const std::string& hex_prefix);

    /// Removes an operator's certificate by its whole hash, audited with
    /// `actor`, and returns it. Throws not_found, conflict (a node's own
    /// certificate: it goes when that node no longer has it).
    TrustedCertificate remove(const std::string& sha256_hex, const std::string& actor);

    /// The change counter: moves in the commit of every change (insert,
    /// delete, an update that changes a value). One cheap statement.
    std::int64_t version();

    /// The counter and every certificate, for a node's in-memory view. The
    /// counter is read first: a change committing in between shows as a
    /// newer counter at the next poll, so the view is reloaded once more,
    /// never left stale under a counter it has already seen.
    TrustedCertificateSnapshot load_all();

    /// Makes `node`'s automatic certificates exactly `certificates` (its
    /// own CAPF, TFTP, TVS and SAST certificates, called at start) in one
    /// transaction. Entries with the same hash are joined as in add_all. A
    /// certificate stored already (an operator's, or another node's own
    /// when nodes share an identity) becomes this node's. Changes only what
    /// differs, so calling it again with the same entries moves no counter.
    /// Each change is audited under the node's name. Returns whether
    /// anything changed.
    bool replace_automatic(const std::string& node,
                           const std::vector<TrustedCertificate>& certificates);

  private:
    ConnectionPool& pool_;
};

/// "added", "updated", "unchanged", "kept-automatic".
std::string_view to_text(TrustedCertificateChange change) noexcept;

}  // namespace capf::storage
