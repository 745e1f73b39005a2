// The dialogue's DeviceStore over PostgreSQL (storage/).
#pragma once

#include <chrono>
#include <mutex>
#include <set>

#include "capf/common/config.hpp"
#include "capf/dialogue/ports.hpp"
#include "storage/audit_log.hpp"
#include "storage/auth_strings.hpp"
#include "storage/certificates.hpp"
#include "storage/connection_pool_fwd.hpp"
#include "storage/operation_claims.hpp"
#include "storage/operation_outcomes.hpp"

namespace capf {

/// How long a session's claim on a device's operation lasts before another
/// node may take it: the longest a live session can legitimately need, which
/// is every key-generation attempt at its full timeout, a few reads around
/// them, and a minute of slack. Shorter, and a second node could run an
/// operation that a slow phone is still finishing; longer, and a device
/// whose node died waits needlessly.
std::chrono::seconds operation_lease(const Config& config);

struct StoreSettings {
    std::string node;
    int lockout_failures = 5;
    std::chrono::seconds lease = std::chrono::hours(2);  ///< see operation_lease()
};

/// Thread-safe (the repository is). StorageError(unreachable,
/// pool_exhausted or timeout) becomes StoreUnavailable for the dialogue.
class StorageDeviceStore : public DeviceStore {
  public:
    /// Lifetime: the pool must outlive the store.
    StorageDeviceStore(storage::ConnectionPool& db, StoreSettings settings)
        : claims_(db),
          auth_strings_(db),
          certificates_(db),
          outcomes_(db),
          audit_(db),
          settings_(std::move(settings)) {}

    std::optional<DeviceForSession> find_device(const std::string& name) override;
    Lookup find_and_claim_null_string(const std::string& name, const std::string& node,
                                      const AuditEvent& authenticated) override;
    AuthStringVerdict check_auth_string(const std::string& device,
                                        const std::string& auth_string) override;
    ClaimOutcome claim_operation(const std::string& device, const std::string& node,
                                 const ClaimExpectation& expected) override;
    CertificateStanding certificate_standing(const std::string& device,
                                             const std::string& serial_hex) override;
    PresentedConfirmation confirm_presented(const std::string& device,
                                            const std::string& serial_hex,
                                            const std::vector<std::uint8_t>& public_key_der,
                                            const std::string& peer) override;
    void record_store_refused(const OperationClaim& claim, const std::string& serial_hex,
                              const std::string& reason, const std::string& peer) override;
    void record_issued(const OperationClaim& claim, const IssuedCertificateRecord& cert,
                       const std::string& peer) override;
    void record_store_confirmed(const OperationClaim& claim, const IssuedCertificateRecord& cert,
                                const std::string& peer) override;
    void record_fetched(const OperationClaim& claim, const std::vector<std::uint8_t>& der,
                        const std::string& md5_hex, const std::vector<std::uint8_t>& public_key_der,
                        const std::string& peer) override;
    void record_deleted(const OperationClaim& claim, const std::string& peer) override;
    void record_failure(const OperationClaim& claim, const std::string& reason,
                        const std::string& peer) override;
    void audit(const AuditEvent& event) override;
    void audit_unauthenticated(const AuditEvent& event) override;
    void release_claim(const OperationClaim& claim) override;

  private:
    void stop_holding(const std::string& device);

    storage::OperationClaims claims_;
    storage::AuthStrings auth_strings_;
    storage::Certificates certificates_;
    storage::OperationOutcomes outcomes_;
    storage::AuditLog audit_;
    StoreSettings settings_;
    // Devices whose operation a session of this process holds now. A lease
    // of this node on any other device is left over from a session that
    // ended without releasing it (the database was down): this node may
    // take it back at once instead of waiting for it to expire.
    std::mutex holding_mutex_;
    std::set<std::string> holding_;
};

}  // namespace capf
