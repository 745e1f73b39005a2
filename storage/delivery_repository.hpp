// The delivery outbox (issue 12): what the TFTP side must follow. The device
// repository writes a row in the same transaction as each change (install,
// fetch, delete, a presented certificate confirmed); this repository hands
// the rows to the nodes that deliver them, with leases, retries and stats.
// Every call is one short transaction, safe when several capfd processes
// share the database; time comes from the database's now().
#pragma once

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "storage/connection_pool_fwd.hpp"
#include "storage/error.hpp"
#include "storage/types.hpp"

namespace capf::storage {

/// An encryptor whose work failed and may succeed later.
struct EncryptorFailure {
    std::string encryptor;
    std::string error;
};

/// An encryptor whose work cannot succeed until `cause` changes (e.g.
/// "key-not-rsa", "no-source-file").
struct EncryptorParking {
    std::string encryptor;
    std::string cause;
    std::string error;
};

/// What one attempt at a batch came to, encryptor by encryptor (each named
/// by its key in the worker, e.g. "enc-sgn", "exec#2").
struct DeliveryOutcome {
    std::vector<std::string> delivered;
    std::vector<EncryptorFailure> failed;  ///< retried with backoff
    std::vector<EncryptorParking> parked;  ///< not retried until the cause changes
    /// Not started, or stopped before an effect, because the lease would not
    /// hold long enough: still owed, due at once, not a failure.
    std::vector<std::string> not_run;
    /// Whether some encryptor ran, so that something may have been written.
    bool acted() const noexcept { return !delivered.empty() || !failed.empty() || !parked.empty(); }
};

enum class DeliveryFinish {
    delivered,   ///< nothing is owed any more: the rows are delivered
    owed_again,  ///< the rows are owed to the failed and not-run encryptors only
    lease_lost,  ///< another node holds (or delivered) the rows
};

/// A device whose delivery to one encryptor is parked (`capfctl tftp failures`).
struct ParkedDelivery {
    std::string device;
    std::string encryptor;
    std::string cause;
    std::string error;         ///< the last failure's message
    TimePoint since;           ///< parked with this cause since
    TimePoint last_failed_at;  ///< the last attempt that failed so
};

class DeliveryRepository {
  public:
    /// Lifetime: the pool must outlive the repository.
    explicit DeliveryRepository(ConnectionPool& pool) : pool_(pool) {}

    /// Up to `limit` devices that have a due row (next_attempt_at passed)
    /// and no row under another live lease, each claimed whole by `node`
    /// for `lease`: the batch holds every undelivered row of the device,
    /// and the device's facts as they are now. Two nodes never hold rows of
    /// one device at once: claims serialise on the device's row (FOR NO KEY
    /// UPDATE SKIP LOCKED, so a busy device is left for the next call) and
    /// re-check for live leases under that lock. An expired lease (its node
    /// died) is taken again.
    std::vector<DeliveryBatch> claim_deliveries(const std::string& node, std::size_t limit,
                                                std::chrono::seconds lease);
    /// Gives back the rows of `batch` that `node` still leases, unchanged
    /// and due at once: the lease ran short before they were delivered, so
    /// any node may take them without waiting for it to expire. How many.
    std::size_t release_deliveries(const DeliveryBatch& batch, const std::string& node);

    /// Records one attempt at `batch` by `node`, in one transaction:
    /// - `node` no longer leases every row: nothing of the batch changes;
    ///   when some encryptor ran, a 'requested' row owed to those that ran
    ///   is queued, so that the device's current facts are written again
    ///   after whatever the node that took over wrote (audit
    ///   delivery/lease_lost). lease_lost.
    /// - nothing failed and nothing was left unrun: the rows are delivered.
    /// - otherwise the rows are owed again to the failed and not-run
    ///   encryptors only (the others delivered facts at least as new as
    ///   every row), lease released; after a failure attempts + 1,
    ///   last_error (the first failure's, "encryptor: error", cut to 500
    ///   characters, invalid UTF-8 and NULs replaced by '?') and
    ///   next_attempt_at = now() + `backoff`, audit delivery/failed; with
    ///   only not-run ones, due at once.
    /// Parked encryptors are recorded (their `since` kept while the cause
    /// stays the same; audit delivery/parked) and their rows not owed to
    /// them any more; delivered ones are parked no longer.
    DeliveryFinish finish_delivery(const DeliveryBatch& batch, const std::string& node,
                                   const DeliveryOutcome& outcome, std::chrono::seconds backoff);

    /// Parked deliveries in (device, encryptor) order after (`after_device`,
    /// `after_encryptor`), at most `limit`; only those of `encryptor`, of
    /// `cause`, of `device` where these are not empty.
    struct ParkedFilter {
        std::string device;
        std::string encryptor;
        std::string cause;
    };
    std::vector<ParkedDelivery> parked_deliveries(const ParkedFilter& filter,
                                                  const std::string& after_device,
                                                  const std::string& after_encryptor,
                                                  std::size_t limit);
    /// The cause of these devices' parked `encryptor` may have cleared (a
    /// source file appeared): a 'requested' row owed to `encryptor` alone,
    /// for each still parked and not owed to it already. How many. Audit
    /// one delivery/requested row (device empty, peer `actor`).
    std::size_t retry_parked(const std::string& encryptor, const std::vector<std::string>& devices,
                             const std::string& actor);

    /// A 'requested' row for one device (capfctl encrypt-config NAME).
    /// Throws StorageError: invalid_device_name, not_found. Audit
    /// delivery/requested, peer `actor`.
    void request_delivery(const std::string& device, const std::string& actor);
    /// A 'requested' row for every device, in one statement (encrypt-config
    /// --all). Returns how many. Audit: one delivery/requested row, device
    /// empty, detail "all devices (N)".
    std::size_t request_delivery_all(const std::string& actor);

    DeliveryStats delivery_stats();

    /// The device's facts as claim_deliveries gives them; nothing when there
    /// is no such device. Throws invalid_device_name.
    std::optional<DeviceFacts> device_facts(const std::string& device);
    /// Facts of devices whose name starts with `prefix` (any case; empty:
    /// all), ordered by name, after the name `after` (empty: from the
    /// start), at most `limit`. The last name is the next page's `after`.
    std::vector<DeviceFacts> all_device_facts(const std::string& prefix, const std::string& after,
                                              std::size_t limit);

    /// Deletes at most `limit` rows delivered longer than `age` ago (by the
    /// database's clock; the outbox keeps its history until then): one
    /// bounded statement, for a caller purging in batches. Returns how many.
    std::size_t purge_delivered(std::chrono::seconds age, std::size_t limit);

  private:
    ConnectionPool& pool_;
};

}  // namespace capf::storage
