// Delivers the outbox (storage/delivery_repository) to the encryptors: after
// the commit that recorded a device's change, off every phone's session
// path, with retries and backoff (issue 12). A failing encryptor is logged,
// audited (by the repository) and retried; it never fails a phone's
// operation. With several nodes on one database, each device's changes are
// claimed by one node at a time, so a shared TFTP directory never sees two
// writers of one file at once; and a node acts on a claim only while its
// lease holds (LeaseGuard), so a slow node never writes a device's older
// facts over the files a node that took the delivery over wrote.
#pragma once

#include <asio/awaitable.hpp>
#include <asio/io_context.hpp>
#include <asio/steady_timer.hpp>
#include <atomic>
#include <chrono>
#include <string>

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
};

struct DeliveryCounters {
    std::atomic<std::uint64_t> delivered{0};
    std::atomic<std::uint64_t> failed{0};
    /// Deliveries whose lease was found lost at the end, queued again.
    std::atomic<std::uint64_t> lease_lost{0};
};

/// What one device's delivery came to.
struct DeviceDelivery {
    /// The first failure's message ("encryptor: what"); empty when none failed.
    std::string failure;
    /// An encryptor was stopped, or not started, because the lease would not
    /// hold long enough for its next effect.
    bool lease_ran_short = false;
    /// Some encryptor ran, so something may have been written.
    bool acted = false;
};

/// Lifetime: every reference outlives run().
class DeliveryWorker {
  public:
    DeliveryWorker(DeliverySettings settings, storage::DeliveryRepository& outbox,
                   Encryptors& encryptors, BlockingPool& pool)
        : settings_(std::move(settings)), outbox_(outbox), encryptors_(encryptors), pool_(pool) {}

    /// Claims and delivers until the io_context stops. Never throws.
    asio::awaitable<void> run();
    /// Runs every encryptor for one batch, in order, while `lease` allows
    /// it. Blocking: call on the pool.
    DeviceDelivery deliver(const storage::DeliveryBatch& batch, const LeaseGuard& lease);

    const DeliveryCounters& counters() const noexcept { return counters_; }

  private:
    /// One round: claims a batch of devices and delivers them. How many were claimed.
    asio::awaitable<std::size_t> deliver_due();
    /// Records how one device's delivery ended. Blocking: call on the pool.
    void record(const storage::DeliveryBatch& batch, const DeviceDelivery& outcome);

    DeliverySettings settings_;
    storage::DeliveryRepository& outbox_;
    Encryptors& encryptors_;
    BlockingPool& pool_;
    DeliveryCounters counters_;
};

}  // namespace capf::tftp
