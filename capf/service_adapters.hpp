// The dialogue's ports implemented over the real modules: device records in
// PostgreSQL (storage/) and the certificate authority (ca/).
#pragma once

#include <chrono>
#include <mutex>
#include <set>

#include "ca/issuer.hpp"
#include "ca/trust_store.hpp"
#include "capf/dialogue_ports.hpp"
#include "storage/device_repository.hpp"

namespace capf {

/// Conversions between the modules' own value types.
std::optional<KeySpec> key_spec_of(std::string_view text);
ca::KeySpec ca_key_spec(const KeySpec& spec);
Operation operation_of(storage::Operation op);
storage::Operation storage_operation(Operation op);
AuthMode auth_mode_of(storage::AuthMode mode);
storage::AuthMode storage_auth_mode(AuthMode mode);

struct StoreSettings {
    std::string node;
    int lockout_failures = 5;
    /// Long enough to cover key generation with all its retries.
    std::chrono::seconds lease = std::chrono::hours(2);
};

/// Thread-safe (the repository is). StorageError(unreachable or
/// pool_exhausted) becomes StoreUnavailable for the dialogue.
class StorageDeviceStore : public DeviceStore {
  public:
    StorageDeviceStore(storage::DeviceRepository& repo, StoreSettings settings)
        : repo_(repo), settings_(std::move(settings)) {}

    std::optional<DeviceForSession> find_device(const std::string& name) override;
    AuthStringCheck check_auth_string(const std::string& device,
                                      const std::string& auth_string) override;
    std::optional<OperationClaim> claim_operation(const std::string& device,
                                                  const std::string& node) override;
    void record_issued(const OperationClaim& claim, const IssuedCertificate& cert) override;
    void record_store_confirmed(const OperationClaim& claim,
                                const IssuedCertificate& cert) override;
    void record_fetched(const OperationClaim& claim, const std::vector<std::uint8_t>& der,
                        const std::string& md5_hex,
                        const std::vector<std::uint8_t>& public_key_der) override;
    void record_deleted(const OperationClaim& claim) override;
    void record_failure(const OperationClaim& claim, const std::string& reason) override;
    void audit(const AuditEvent& event) override;
    void release_claim(const OperationClaim& claim) override;

  private:
    storage::DeviceRepository& repo_;
    StoreSettings settings_;
    // Devices whose operation a session of this process holds now. A lease
    // of this node on any other device is left over from a session that
    // ended without releasing it (the database was down): this node may
    // take it back at once instead of waiting for it to expire.
    std::mutex holding_mutex_;
    std::set<std::string> holding_;
};

/// Lifetime: issuer and trust store outlive it. Thread-safe.
class CaAuthority : public Authority {
  public:
    CaAuthority(const ca::LscIssuer& issuer, const ca::TrustStore& trust, unsigned validity_days)
        : issuer_(issuer), trust_(trust), validity_days_(validity_days) {}

    VerificationFailure verify_presented(const std::string& device,
                                         const PresentedCertificate& presented,
                                         std::uint32_t session_id) override;
    IssuedCertificate issue_lsc(const std::string& device,
                                const std::vector<std::uint8_t>& public_key_der,
                                const KeySpec& requested) override;
    std::optional<std::pair<std::string, std::vector<std::uint8_t>>> describe_certificate(
        const std::vector<std::uint8_t>& der) override;

  private:
    const ca::LscIssuer& issuer_;
    const ca::TrustStore& trust_;
    unsigned validity_days_;
};

}  // namespace capf
