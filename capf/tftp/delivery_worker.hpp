// Delivers the outbox (storage/delivery_repository) to the encryptors: after
// the commit that recorded a device's change, off every phone's session
// path, with retries and backoff (issue 12). A failing encryptor is logged,
// audited (by the repository) and retried; it never fails a phone's
// operation. With several nodes on one database, each device's changes are
// claimed by one node at a time, so a shared TFTP directory never sees two
// writers of one file at once; and a node acts on a claim only while its
// lease holds (LeaseGuard), so a slow node never writes a device's older
// facts over the files a node that took the delivery over wrote.
//
// Work follows the size of the change (issue 32): a retry runs only the
// encryptors that failed; fleet-wide encryptors (the hashes file, the ITL)
// run once per claimed batch, not once per device; and a failure that
// cannot succeed until its cause changes is parked instead of retried for
// ever, and looked at again when that cause may have cleared.
#pragma once

#include <asio/awaitable.hpp>
#include <asio/io_context.hpp>
#include <asio/steady_timer.hpp>
#include <atomic>
#include <chrono>
#include <string>
#include <vector>

#include "capf/common/blocking_pool.hpp"
#include "capf/tftp/encryptor.hpp"
#include "storage/delivery_repository.hpp"

namespace capf::tftp {

struct DeliverySettings {
    std::string node;
    std::size_t batch = 32;  ///< devices claimed at once
    /// A node starts devices in the first half of it, and acts (writes,
    /// starts a program) only in the first three quarters (LeaseGuard).
    std::chrono::seconds lease = std::chrono::minutes(5);
    std::chrono::seconds retry_first = std::chrono::seconds(10);
    std::chrono::seconds retry_max = std::chrono::minutes(10);
    std::chrono::milliseconds idle_poll = std::chrono::seconds(1);  ///< when nothing is due
    /// How often deliveries parked for a missing source file are looked at
    /// again (a stat per device), and retried when it appeared.
    std::chrono::milliseconds parked_recheck = std::chrono::minutes(1);
};

struct DeliveryCounters {
    std::atomic<std::uint64_t> delivered{0};
    /// Attempts at a device in which an encryptor failed (retried later).
    std::atomic<std::uint64_t> failed{0};
    /// Deliveries whose lease was found lost at the end, queued again.
    std::atomic<std::uint64_t> lease_lost{0};
    /// Encryptor failures parked until their cause changes.
    std::atomic<std::uint64_t> parked{0};
    /// Parked deliveries retried because their cause cleared.
    std::atomic<std::uint64_t> unparked{0};
};

/// Lifetime: every reference outlives run().
class DeliveryWorker {
  public:
    /// Each encryptor is known in the outbox by a key: its name, with "#2",
    /// "#3" for the second and later of one name (in configuration order).
    DeliveryWorker(DeliverySettings settings, storage::DeliveryRepository& outbox,
                   Encryptors& encryptors, BlockingPool& pool);

    /// Claims and delivers until the io_context stops. Never throws.
    asio::awaitable<void> run();
    /// The outbox keys of the encryptors, in their order.
    const std::vector<std::string>& keys() const noexcept { return keys_; }

    const DeliveryCounters& counters() const noexcept { return counters_; }

  private:
    struct Attempt;

    /// One round: claims a batch of devices and delivers them. How many were claimed.
    asio::awaitable<std::size_t> deliver_due();
    /// The device-scope encryptors `attempt` is owed to, in order, while
    /// `lease` allows. Blocking: call on the pool.
    void deliver_device(Attempt& attempt, const LeaseGuard& lease);
    /// Each fleet-scope encryptor once for every attempt owed to it.
    /// Blocking: call on the pool.
    void deliver_fleet(std::vector<Attempt>& attempts, const LeaseGuard& lease);
    /// Records how each attempt ended, and hands back the devices of
    /// `batches` after the attempted ones. Blocking: call on the pool.
    void record(const std::vector<Attempt>& attempts,
                const std::vector<storage::DeliveryBatch>& batches);
    /// Retries the deliveries parked for a source file that now exists.
    /// Blocking: call on the pool.
    void recheck_parked();

    DeliverySettings settings_;
    storage::DeliveryRepository& outbox_;
    Encryptors& encryptors_;
    BlockingPool& pool_;
    std::vector<std::string> keys_;
    DeliveryCounters counters_;
};

}  // namespace capf::tftp
