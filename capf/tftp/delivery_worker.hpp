// Delivers the outbox (storage/delivery_repository) to the encryptors: after
// the commit that recorded a device's change, off every phone's session
// path, with retries and backoff (issue 12). A failing encryptor is logged,
// audited (by the repository) and retried; it never fails a phone's
// operation. With several nodes on one database, each device's changes are
// claimed by one node at a time, so a shared TFTP directory never sees two
// writers of one file at once.
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
    std::size_t batch = 32;                                ///< devices claimed at once
    std::chrono::seconds lease = std::chrono::minutes(5);  ///< longer than any encryptor may take
    std::chrono::seconds retry_first = std::chrono::seconds(10);
    std::chrono::seconds retry_max = std::chrono::minutes(10);
    std::chrono::milliseconds idle_poll = std::chrono::seconds(1);  ///< when nothing is due
};

struct DeliveryCounters {
    std::atomic<std::uint64_t> delivered{0};
    std::atomic<std::uint64_t> failed{0};
};

/// Lifetime: every reference outlives run().
class DeliveryWorker {
  public:
    DeliveryWorker(DeliverySettings settings, storage::DeliveryRepository& outbox,
                   Encryptors& encryptors, BlockingPool& pool)
        : settings_(std::move(settings)), outbox_(outbox), encryptors_(encryptors), pool_(pool) {}

    /// Claims and delivers until the io_context stops. Never throws.
    asio::awaitable<void> run();
    /// Runs every encryptor for one batch; the first failure's message, or
    /// empty when all succeeded. Blocking: call on the pool.
    std::string deliver(const storage::DeliveryBatch& batch);

    const DeliveryCounters& counters() const noexcept { return counters_; }

  private:
    /// One round: claims a batch of devices and delivers them. How many were claimed.
    asio::awaitable<std::size_t> deliver_due();

    DeliverySettings settings_;
    storage::DeliveryRepository& outbox_;
    Encryptors& encryptors_;
    BlockingPool& pool_;
    DeliveryCounters counters_;
};

}  // namespace capf::tftp
