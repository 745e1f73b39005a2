// The administrator's methods on the admin socket: the server itself,
// devices, scheduling, auth strings, trust anchors, the CAPF certificate,
// reports and audit. One file per method group (see method_groups.hpp).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "ca/identity.hpp"
#include "ca/trust_store.hpp"
#include "capf/admin/jsonrpc.hpp"
#include "capf/common/config.hpp"
#include "capf/common/session_stats.hpp"
#include "storage/audit_log.hpp"
#include "storage/auth_strings.hpp"
#include "storage/certificates.hpp"
#include "storage/cluster_settings.hpp"
#include "storage/connection_pool_fwd.hpp"
#include "storage/delivery_repository.hpp"
#include "storage/devices.hpp"
#include "storage/operation_schedule.hpp"
#include "storage/reports.hpp"
#include "storage/trust_anchor_repository.hpp"
#include "storage/trusted_certificates.hpp"

namespace capf {

/// Everything the methods use. Lifetime: outlives the admin server.
struct AdminContext {
    const Config& config;
    storage::ConnectionPool& db;
    storage::TrustAnchorRepository& anchors;
    const ca::Identity& capf_identity;
    const ca::Identity& issuer_identity;
    ca::TrustStore& trust;
    const PhoneListenerStats* phone_stats = nullptr;
    std::chrono::system_clock::time_point started_at = std::chrono::system_clock::now();
    /// The TFTP side's outbox; null when "tftp" is not configured.
    storage::DeliveryRepository* deliveries = nullptr;
    /// A fresh ITL and its record count; empty without a TFTP identity.
    std::function<std::pair<std::vector<std::uint8_t>, std::size_t>()> build_itl{};
    /// The CTL (a `ctl` encryptor; empty without a TFTP side): publish it
    /// now ({published, file, signer, signer_serial, records, refusal}),
    /// describe the published one, and its refusals since start (nothing
    /// without one). The first two throw std::runtime_error saying what is
    /// missing.
    std::function<nlohmann::json(bool allow_new_signer)> publish_ctl{};
    std::function<nlohmann::json()> show_ctl{};
    std::function<std::optional<std::uint64_t>()> ctl_signer_refusals{};
    /// This node applies the stored ITL rollback setting now (empty without
    /// a TFTP side); the other nodes within a minute.
    std::function<void()> apply_itl_rollback{};
    // What the methods read and change, each a view over `db`.
    storage::Devices devices{db};
    storage::OperationSchedule schedule{db};
    storage::AuthStrings auth_strings{db};
    storage::Certificates certificates{db};
    storage::AuditLog audit{db};
    storage::Reports reports{db};
    /// The TVS store (tvs.* methods).
    storage::TrustedCertificateRepository trusted_certificates{db};
    /// Called after tvs.add, tvs.remove or tvs.import_bundle changed the
    /// store, so this node refreshes its TVS view at once instead of at its
    /// next poll (other nodes see the counter move). Empty: nothing to do.
    std::function<void()> on_trusted_certificates_changed{};
    /// The TTL of tvs.add and tvs.import_bundle when none is given (the
    /// daemon sets it from the configuration).
    std::chrono::seconds tvs_default_ttl = std::chrono::hours(24);
    storage::ClusterSettings cluster_settings{db};
    /// The TVS's connections and answers; null when the TVS is off.
    const PhoneListenerStats* tvs_connections = nullptr;
    const TvsStats* tvs_answers = nullptr;
    /// Certificates in this node's TVS view, and its store version.
    std::function<std::pair<std::size_t, std::int64_t>()> tvs_view{};
};

/// Registers every admin method, each bound to `context`. Lifetime: the
/// registry and the context must outlive every request.
void register_admin_methods(jsonrpc::Registry& registry, AdminContext& context);

/// The one form of every time in admin JSON: ISO 8601 UTC to the second,
/// "2026-11-24T19:33:00Z".
std::string iso8601(std::chrono::system_clock::time_point t);

}  // namespace capf
