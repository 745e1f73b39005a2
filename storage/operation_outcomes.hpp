// How a claimed operation ends: the certificate issued, the phone's answer
// (stored, fetched, deleted, refused) or a failure. Calls as described in
// devices.hpp.
//
// Each outcome also appends an audit event with `peer`, the phone's
// address, and the claim's node; each refuses with lease_lost when this
// node no longer holds the lease.
// A successful outcome (store confirmed, fetched, delete confirmed) also
// uses up the auth string the claim carries, if it is still the stored one
// (compare-and-set), resetting the failure count; audit auth_string/used.
// Failures never use it up: the phone may retry.
// Each successful outcome also writes a delivery row (the outbox, see
// delivery_repository.hpp) in its own transaction: store confirmed ->
// installed, fetched -> fetched, delete confirmed -> deleted. Failures and
// refusals write none.
#pragma once

#include <string>

#include "storage/connection_pool_fwd.hpp"
#include "storage/error.hpp"
#include "storage/types.hpp"

namespace capf::storage {

class OperationOutcomes {
  public:
    /// Lifetime: the pool must outlive the repository.
    explicit OperationOutcomes(ConnectionPool& pool) : pool_(pool) {}

    void record_certificate_issued(const OperationClaim& claim, const IssuedCertificateRecord& cert,
                                   const std::string& peer);
    /// Every other unrevoked certificate of the device becomes superseded.
    void record_store_confirmed(const OperationClaim& claim, const IssuedCertificateRecord& cert,
                                const std::string& peer);
    void record_fetched_certificate(const OperationClaim& claim, const Bytes& der,
                                    const std::string& md5_hex, const Bytes& public_key_der,
                                    const std::string& peer);
    /// Every unrevoked certificate of the device becomes deleted, and the
    /// certificate fetched from it earlier is forgotten (the phone holds none).
    void record_delete_confirmed(const OperationClaim& claim, const std::string& peer);
    void record_failure(const OperationClaim& claim, const std::string& reason,
                        const std::string& peer);
    /// The phone refused the certificate in STORE_CERT_RESPONSE: it is
    /// revoked as refused, and the failure recorded as record_failure does,
    /// in one transaction.
    void record_store_refused(const OperationClaim& claim, const std::string& serial_hex,
                              const std::string& reason, const std::string& peer);

  private:
    ConnectionPool& pool_;
};

}  // namespace capf::storage
