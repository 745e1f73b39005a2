// What a phone session reads of its device, and the lease by which it
// takes the device's pending operation: one UPDATE ... RETURNING under the
// row lock, so two sessions or two nodes never run one device's operation.
// Calls as described in devices.hpp.
#pragma once

#include <chrono>
#include <optional>
#include <string>

#include "storage/connection_pool_fwd.hpp"
#include "storage/error.hpp"
#include "storage/types.hpp"

namespace capf::storage {

class OperationClaims {
  public:
    /// Lifetime: the pool must outlive the repository.
    explicit OperationClaims(ConnectionPool& pool) : pool_(pool) {}

    /// The few columns a phone session reads, in one round trip.
    std::optional<SessionDevice> find_session_device(const std::string& name);

    /// A session's lookup that, under the null string, is also its claim:
    /// the device, and when it is under the null string with an operation
    /// pending and its deadline not passed, `authenticated` audited and the
    /// claim as claim_pending_operation makes it (nothing else is left to
    /// check under the null string), all in one statement. `may_claim`
    /// false: the caller knows the operation held (held_elsewhere).
    struct SessionLookup {
        std::optional<SessionDevice> device;
        std::optional<ClaimOutcome> claim;  ///< set when the device was open to claim
    };
    SessionLookup find_session_device_and_claim(const std::string& name, const std::string& node,
                                                std::chrono::seconds lease,
                                                const AuditEvent& authenticated, bool may_claim,
                                                bool take_own_lease);

    /// Hands the device's pending operation to exactly one caller: nothing
    /// when there is none, the deadline passed, the operation is locked, or
    /// another node holds an unexpired lease. An expired lease (its node
    /// died) can be taken again.
    /// With `take_own_lease`, an unexpired lease already held by `node` can
    /// be taken too: for a node that knows no session of its own holds it.
    std::optional<OperationClaim> claim_pending_operation(const std::string& name,
                                                          const std::string& node,
                                                          std::chrono::seconds lease,
                                                          bool take_own_lease = false);

    /// The same, bound to what the session authenticated against: when the
    /// device's auth mode or pending operation is no longer `expected`'s, or
    /// expected.auth_string_hash is set and the stored hash is no longer it,
    /// nothing is claimed and the status is operation_changed, with `detail`
    /// saying what changed. The claim carries expected.auth_string_hash,
    /// which its successful outcome uses up.
    ClaimOutcome claim_pending_operation(const std::string& name, const std::string& node,
                                         std::chrono::seconds lease,
                                         const ClaimExpectation& expected,
                                         bool take_own_lease = false);

  private:
    ConnectionPool& pool_;
};

}  // namespace capf::storage
