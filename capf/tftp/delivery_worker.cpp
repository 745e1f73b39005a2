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

DeviceDelivery DeliveryWorker::deliver(const storage::DeliveryBatch& batch,
                                       const LeaseGuard& lease) {
    const DeliveryChange change = newest_change(batch);
    DeviceDelivery out;
    for (const auto& encryptor : encryptors_) {
        const std::string name(encryptor->name());
        try {
            // Also asked here, not only by the encryptors before their
            // effects: an encryptor that does not ask still never starts late.
            lease.require(std::chrono::milliseconds(0), "starting " + name);
            out.acted = true;
            encryptor->deliver(batch.facts, change, lease);
        } catch (const EncryptorError& e) {
            if (e.code() == EncryptorErrc::lease_running_out) {
                log::info("delivery_lease_running_out",
                          {{"device", batch.device}, {"encryptor", name}, {"detail", e.what()}});
                out.lease_ran_short = true;
                return out;
            }
            log::warn("delivery_failed", {{"device", batch.device},
                                          {"encryptor", name},
                                          {"attempt", batch.attempts + 1},
                                          {"error", e.what()}});
            if (out.failure.empty())
                out.failure = name + ": " + e.what();
        } catch (const std::exception& e) {
            log::warn("delivery_failed", {{"device", batch.device},
                                          {"encryptor", name},
                                          {"attempt", batch.attempts + 1},
                                          {"error", e.what()}});
            if (out.failure.empty())
                out.failure = name + ": " + e.what();
        }
    }
    return out;
}

void DeliveryWorker::record(const storage::DeliveryBatch& batch, const DeviceDelivery& outcome) {
    bool held = true;
    if (!outcome.failure.empty()) {
        const auto backoff = storage::delivery_backoff(batch.attempts + 1, settings_.retry_first,
                                                       settings_.retry_max);
        held = outbox_.fail_delivery(batch, settings_.node, outcome.failure, backoff);
        counters_.failed += 1;
    } else if (outcome.lease_ran_short) {
        // Not a failure: due again at once, for whichever node claims it.
        held = outbox_.release_deliveries(batch, settings_.node) > 0;
    } else {
        held = outbox_.complete_delivery(batch, settings_.node);
        if (held)
            counters_.delivered += 1;
    }
    if (held || !outcome.acted)
        return;
    // Another node took the delivery over; this node's last write may have
    // landed after that node's (a rename stalled past the guard's margin).
    // Delivered again, the device's newest facts are written last.
    log::warn("delivery_lease_lost", {{"device", batch.device}, {"node", settings_.node}});
    outbox_.requeue_lost_delivery(batch, settings_.node);
    counters_.lease_lost += 1;
}

asio::awaitable<std::size_t> DeliveryWorker::deliver_due() {
    auto claim = [this] {
        return outbox_.claim_deliveries(settings_.node, settings_.batch, settings_.lease);
    };
    // Read before the claim is sent: the lease the database records starts
    // later than this, so the guard never believes in more lease than there is.
    const auto claimed_at = LeaseGuard::Clock::now();
    const auto batches = co_await pool_.run(claim);
    const LeaseGuard lease(claimed_at, settings_.lease);
    std::size_t started = 0;
    for (const auto& batch : batches) {
        // Devices start in the first half of the lease only (two nodes under
        // load delivered 21 of 200 twice when a batch outlived its lease);
        // the first always starts, so that a short lease still makes progress.
        const std::chrono::duration<double> elapsed = LeaseGuard::Clock::now() - claimed_at;
        if (started > 0 && elapsed >= std::chrono::duration<double>(settings_.lease) / 2) {
            log::info("delivery_lease_running_out",
                      {{"left", batches.size() - started},
                       {"lease_seconds", static_cast<long long>(settings_.lease.count())}});
            break;
        }
        ++started;
        // Each device on the pool by itself: a slow encryptor for one device
        // does not hold the others' notifications.
        auto one = [this, &batch, &lease] { record(batch, deliver(batch, lease)); };
        try {
            co_await pool_.run(one);
        } catch (const std::exception& e) {
            // The database went away between delivering and recording it: the
            // lease expires and the batch is delivered again (idempotently).
            log::warn("delivery_not_recorded", {{"device", batch.device}, {"error", e.what()}});
        }
    }
    if (started < batches.size()) {
        // Handed back now rather than when the lease expires.
        auto release = [this, &batches, started] {
            for (std::size_t i = started; i < batches.size(); ++i)
                outbox_.release_deliveries(batches[i], settings_.node);
        };
        try {
            co_await pool_.run(release);
        } catch (const std::exception& e) {
            log::warn("delivery_release_failed", {{"error", e.what()}});
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
