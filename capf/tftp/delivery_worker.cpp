#include "capf/tftp/delivery_worker.hpp"

#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>
#include <chrono>

#include "capf/common/log.hpp"

namespace capf::tftp {
namespace {

/// The change an encryptor is told about when several were coalesced: the
/// newest (encryptors act on the device's current facts anyway).
DeliveryChange newest_change(const storage::DeliveryBatch& batch) {
    return batch.changes.empty() ? DeliveryChange::requested : batch.changes.back();
}

}  // namespace

std::string DeliveryWorker::deliver(const storage::DeliveryBatch& batch) {
    const DeliveryChange change = newest_change(batch);
    std::string first_failure;
    for (const auto& encryptor : encryptors_) {
        try {
            encryptor->deliver(batch.facts, change);
        } catch (const std::exception& e) {
            log::warn("delivery_failed", {{"device", batch.device},
                                          {"encryptor", std::string(encryptor->name())},
                                          {"attempt", batch.attempts + 1},
                                          {"error", e.what()}});
            if (first_failure.empty())
                first_failure = std::string(encryptor->name()) + ": " + e.what();
        }
    }
    return first_failure;
}

asio::awaitable<std::size_t> DeliveryWorker::deliver_due() {
    auto claim = [this] {
        return outbox_.claim_deliveries(settings_.node, settings_.batch, settings_.lease);
    };
    // The lease covers the whole batch, delivered one device after another:
    // past half of it, the rest is left for a later round (by any node) once
    // its lease runs out, rather than delivered while another node may take
    // it over (two nodes under load delivered 21 of 200 twice).
    const auto claimed_at = std::chrono::steady_clock::now();
    const auto batches = co_await pool_.run(claim);
    std::size_t delivered_or_failed = 0;
    for (const auto& batch : batches) {
        // The first is always delivered, so that a short lease still makes progress.
        const std::chrono::duration<double> elapsed = std::chrono::steady_clock::now() - claimed_at;
        if (delivered_or_failed > 0 &&
            elapsed >= std::chrono::duration<double>(settings_.lease) / 2) {
            log::info("delivery_lease_running_out",
                      {{"left", batches.size() - delivered_or_failed},
                       {"lease_seconds", static_cast<long long>(settings_.lease.count())}});
            break;
        }
        ++delivered_or_failed;
        // Each device on the pool by itself: a slow encryptor for one device
        // does not hold the others' notifications.
        auto one = [this, &batch] {
            const std::string failure = deliver(batch);
            if (failure.empty()) {
                outbox_.complete_delivery(batch, settings_.node);
                return true;
            }
            const auto backoff = storage::delivery_backoff(
                batch.attempts + 1, settings_.retry_first, settings_.retry_max);
            outbox_.fail_delivery(batch, settings_.node, failure, backoff);
            return false;
        };
        try {
            const bool ok = co_await pool_.run(one);
            (ok ? counters_.delivered : counters_.failed) += 1;
        } catch (const std::exception& e) {
            // The database went away between delivering and recording it: the
            // lease expires and the batch is delivered again (idempotently).
            log::warn("delivery_not_recorded", {{"device", batch.device}, {"error", e.what()}});
        }
    }
    co_return batches.size();
}

asio::awaitable<void> DeliveryWorker::run() {
    asio::steady_timer idle(co_await asio::this_coro::executor);
    for (;;) {
        std::size_t claimed = 0;
        try {
            claimed = co_await deliver_due();
        } catch (const std::exception& e) {
            log::warn("delivery_claim_failed", {{"error", e.what()}});
        }
        if (claimed < settings_.batch) {
            idle.expires_after(settings_.idle_poll);
            co_await idle.async_wait(asio::use_awaitable);
        }
    }
}

}  // namespace capf::tftp
