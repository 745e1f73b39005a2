// Every storage repository over one pool, for tests that take devices
// through their whole life: each concern is reached by its name.
#pragma once

#include "storage/audit_log.hpp"
#include "storage/auth_strings.hpp"
#include "storage/certificates.hpp"
#include "storage/connection_pool_fwd.hpp"
#include "storage/devices.hpp"
#include "storage/operation_claims.hpp"
#include "storage/operation_outcomes.hpp"
#include "storage/operation_schedule.hpp"
#include "storage/reports.hpp"

namespace capf::test {

struct Repositories {
    /// Lifetime: the pool must outlive the repositories.
    explicit Repositories(storage::ConnectionPool& pool)
        : devices(pool),
          schedule(pool),
          claims(pool),
          outcomes(pool),
          auth_strings(pool),
          certificates(pool),
          audit(pool),
          reports(pool) {}

    storage::Devices devices;
    storage::OperationSchedule schedule;
    storage::OperationClaims claims;
    storage::OperationOutcomes outcomes;
    storage::AuthStrings auth_strings;
    storage::Certificates certificates;
    storage::AuditLog audit;
    storage::Reports reports;
};

}  // namespace capf::test
