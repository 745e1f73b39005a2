#include "capf/tftp/delivery_worker.hpp"

#include <algorithm>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>
#include <chrono>
#include <map>

#include "capf/common/log.hpp"

namespace capf::tftp {
namespace {

using storage::DeliveryBatch;
using storage::DeliveryOutcome;

/// The change an encryptor is told about when several were coalesced: the
/// newest (encryptors act on the device's current facts anyway).
DeliveryChange newest_change(const DeliveryBatch& batch) {
    return batch.changes.empty() ? DeliveryChange::requested : batch.changes.back();
}

/// Whether `batch` is owed to the encryptor known as `key`.
bool owes(const DeliveryBatch& batch, const std::string& key) {
    return !batch.encryptors ||
           std::binary_search(batch.encryptors->begin(), batch.encryptors->end(), key);
}

/// What running one encryptor came to.
struct EncryptorResult {
    enum class Kind { delivered, failed, parked, not_run } kind = Kind::delivered;
    std::string error;
    ParkCause cause = ParkCause::none;
};

/// Runs `work` (an encryptor's delivery) if the lease still allows starting
/// it, and sorts what happened by what the delivery does next.
template <typename Work>
EncryptorResult run_guarded(const std::string& key, const LeaseGuard& lease, Work&& work) {
    using Kind = EncryptorResult::Kind;
    try {
        // Asked here too, not only by the encryptors before their effects:
        // one that does not ask still never starts late.
        lease.require(std::chrono::milliseconds(0), "starting " + key);
        work();
        return {};
    } catch (const EncryptorError& e) {
        switch (e.code()) {
            case EncryptorErrc::lease_running_out:
                return {Kind::not_run, e.what(), ParkCause::none};
            case EncryptorErrc::permanent:
                return {Kind::parked, e.what(), e.cause()};
            case EncryptorErrc::failed:
                break;
        }
        return {Kind::failed, e.what(), ParkCause::none};
    } catch (const std::exception& e) {
        return {Kind::failed, e.what(), ParkCause::none};
    }
}

/// Files `result` of the encryptor `key` into one device's outcome.
void file_result(const std::string& key, const EncryptorResult& result, DeliveryOutcome& outcome) {
    using Kind = EncryptorResult::Kind;
    switch (result.kind) {
        case Kind::delivered:
            outcome.delivered.push_back(key);
            return;
        case Kind::failed:
            outcome.failed.push_back({key, result.error});
            return;
        case Kind::parked:
            outcome.parked.push_back({key, std::string(to_text(result.cause)), result.error});
            return;
        case Kind::not_run:
            outcome.not_run.push_back(key);
            return;
    }
}

void log_result(const std::string& device, const std::string& key, int attempt,
                const EncryptorResult& result) {
    using Kind = EncryptorResult::Kind;
    if (result.kind == Kind::failed) {
        log::warn("delivery_failed", {{"device", device},
                                      {"encryptor", key},
                                      {"attempt", attempt},
                                      {"error", result.error}});
    } else if (result.kind == Kind::parked) {
        log::warn("delivery_parked", {{"device", device},
                                      {"encryptor", key},
                                      {"cause", std::string(to_text(result.cause))},
                                      {"error", result.error}});
    } else if (result.kind == Kind::not_run) {
        log::info("delivery_lease_running_out",
                  {{"device", device}, {"encryptor", key}, {"detail", result.error}});
    }
}

/// "enc-sgn", "exec", "exec#2", ...: unique names in configuration order.
std::vector<std::string> outbox_keys(const Encryptors& encryptors) {
    std::map<std::string, int> seen;
    std::vector<std::string> keys;
    for (const auto& e : encryptors) {
        const std::string name(e->name());
        const int n = ++seen[name];
        keys.push_back(n == 1 ? name : name + "#" + std::to_string(n));
    }
    return keys;
}

}  // namespace

struct DeliveryWorker::Attempt {
    const DeliveryBatch* batch;
    DeliveryOutcome outcome;
};

DeliveryWorker::DeliveryWorker(DeliverySettings settings, storage::DeliveryRepository& outbox,
                               Encryptors& encryptors, BlockingPool& pool)
    : settings_(std::move(settings)),
      outbox_(outbox),
      encryptors_(encryptors),
      pool_(pool),
      keys_(outbox_keys(encryptors)) {}

void DeliveryWorker::deliver_device(Attempt& attempt, const LeaseGuard& lease) {
    const DeliveryBatch& batch = *attempt.batch;
    const DeliveryChange change = newest_change(batch);
    if (batch.encryptors) {
        for (const auto& key : *batch.encryptors) {
            // Rows owed to an encryptor this node does not have (the
            // configuration changed): nothing to run for it.
            if (std::find(keys_.begin(), keys_.end(), key) == keys_.end())
                log::warn("delivery_encryptor_unknown",
                          {{"device", batch.device}, {"encryptor", key}});
        }
    }
    bool lease_ran_short = false;
    for (std::size_t i = 0; i < encryptors_.size(); ++i) {
        Encryptor& encryptor = *encryptors_[i];
        if (encryptor.scope() != EncryptorScope::device || !owes(batch, keys_[i]))
            continue;
        if (lease_ran_short) {
            attempt.outcome.not_run.push_back(keys_[i]);
            continue;
        }
        const EncryptorResult result =
            run_guarded(keys_[i], lease, [&] { encryptor.deliver(batch.facts, change, lease); });
        log_result(batch.device, keys_[i], batch.attempts + 1, result);
        file_result(keys_[i], result, attempt.outcome);
        lease_ran_short = result.kind == EncryptorResult::Kind::not_run;
    }
}

void DeliveryWorker::deliver_fleet(std::vector<Attempt>& attempts, const LeaseGuard& lease) {
    for (std::size_t i = 0; i < encryptors_.size(); ++i) {
        Encryptor& encryptor = *encryptors_[i];
        if (encryptor.scope() != EncryptorScope::fleet)
            continue;
        std::vector<Attempt*> owing;
        for (auto& attempt : attempts) {
            if (owes(*attempt.batch, keys_[i]))
                owing.push_back(&attempt);
        }
        if (owing.empty())
            continue;
        // Once for all of them: its work depends on the whole fleet (or on
        // no device at all), and it reads every device's current facts.
        const EncryptorResult result =
            run_guarded(keys_[i], lease, [&] { encryptor.deliver_fleet(lease); });
        if (result.kind != EncryptorResult::Kind::delivered) {
            log::warn("delivery_fleet_not_delivered",
                      {{"encryptor", keys_[i]},
                       {"devices", static_cast<long long>(owing.size())},
                       {"error", result.error}});
        }
        for (Attempt* attempt : owing)
            file_result(keys_[i], result, attempt->outcome);
    }
}

void DeliveryWorker::record(const std::vector<Attempt>& attempts,
                            const std::vector<DeliveryBatch>& batches) {
    for (const auto& attempt : attempts) {
        const DeliveryBatch& batch = *attempt.batch;
        const auto backoff = storage::delivery_backoff(batch.attempts + 1, settings_.retry_first,
                                                       settings_.retry_max);
        try {
            const auto finish =
                outbox_.finish_delivery(batch, settings_.node, attempt.outcome, backoff);
            counters_.parked += attempt.outcome.parked.size();
            if (finish == storage::DeliveryFinish::delivered) {
                counters_.delivered += 1;
            } else if (finish == storage::DeliveryFinish::lease_lost) {
                // Another node took the delivery over; this node's last
                // write may have landed after that node's (a rename stalled
                // past the guard's margin). finish_delivery queued the device
                // again, so its newest facts are written last.
                log::warn("delivery_lease_lost",
                          {{"device", batch.device}, {"node", settings_.node}});
                counters_.lease_lost += 1;
            } else if (!attempt.outcome.failed.empty()) {
                counters_.failed += 1;
            }
        } catch (const std::exception& e) {
            // The database went away between delivering and recording it: the
            // lease expires and the batch is delivered again (idempotently).
            log::warn("delivery_not_recorded", {{"device", batch.device}, {"error", e.what()}});
        }
    }
    // The devices not started: handed back now rather than when the lease
    // expires, for whichever node claims next.
    for (std::size_t i = attempts.size(); i < batches.size(); ++i) {
        try {
            outbox_.release_deliveries(batches[i], settings_.node);
        } catch (const std::exception& e) {
            log::warn("delivery_release_failed",
                      {{"device", batches[i].device}, {"error", e.what()}});
        }
    }
}

asio::awaitable<std::size_t> DeliveryWorker::deliver_due() {
    auto claim = [this] {
        return outbox_.claim_deliveries(settings_.node, settings_.batch, settings_.lease);
    };
    // Read before the claim is sent: the lease the database records starts
    // later than this, so the guard never believes in more lease than there is.
    const auto claimed_at = LeaseGuard::Clock::now();
    const auto batches = co_await pool_.run(claim);
    if (batches.empty())
        co_return 0;
    const LeaseGuard lease(claimed_at, settings_.lease);
    std::vector<Attempt> attempts;
    attempts.reserve(batches.size());
    for (const auto& batch : batches) {
        // Devices start in the first half of the lease only (two nodes under
        // load delivered 21 of 200 twice when a batch outlived its lease);
        // the first always starts, so that a short lease still makes progress.
        const std::chrono::duration<double> elapsed = LeaseGuard::Clock::now() - claimed_at;
        if (!attempts.empty() && elapsed >= std::chrono::duration<double>(settings_.lease) / 2) {
            log::info("delivery_lease_running_out",
                      {{"left", batches.size() - attempts.size()},
                       {"lease_seconds", static_cast<long long>(settings_.lease.count())}});
            break;
        }
        attempts.push_back(Attempt{&batch, {}});
        // Each device on the pool by itself: a slow encryptor for one device
        // does not hold the others' notifications.
        auto one = [this, &attempt = attempts.back(), &lease] { deliver_device(attempt, lease); };
        co_await pool_.run(one);
    }
    auto fleet = [this, &attempts, &lease] { deliver_fleet(attempts, lease); };
    co_await pool_.run(fleet);
    auto finish = [this, &attempts, &batches] { record(attempts, batches); };
    co_await pool_.run(finish);
    co_return batches.size();
}

void DeliveryWorker::recheck_parked() {
    constexpr std::size_t page_size = 500;
    for (std::size_t i = 0; i < encryptors_.size(); ++i) {
        const storage::DeliveryRepository::ParkedFilter filter{
            "", keys_[i], std::string(to_text(ParkCause::no_source_file))};
        std::string after;
        for (;;) {
            const auto page = outbox_.parked_deliveries(filter, after, keys_[i], page_size);
            std::vector<std::string> cleared;
            for (const auto& parked : page) {
                if (encryptors_[i]->parked_cause_cleared(parked.device, ParkCause::no_source_file))
                    cleared.push_back(parked.device);
            }
            const std::size_t retried = outbox_.retry_parked(keys_[i], cleared, settings_.node);
            counters_.unparked += retried;
            if (retried > 0)
                log::info("delivery_unparked", {{"encryptor", keys_[i]},
                                                {"cause", "no-source-file"},
                                                {"devices", static_cast<long long>(retried)}});
            if (page.size() < page_size)
                break;
            after = page.back().device;
        }
    }
}

asio::awaitable<void> DeliveryWorker::run() {
    asio::steady_timer idle(co_await asio::this_coro::executor);
    auto last_recheck = std::chrono::steady_clock::now();
    for (;;) {
        std::size_t claimed = 0;
        try {
            claimed = co_await deliver_due();
        } catch (const std::exception& e) {
            log::warn("delivery_claim_failed", {{"error", e.what()}});
        }
        if (std::chrono::steady_clock::now() - last_recheck >= settings_.parked_recheck) {
            last_recheck = std::chrono::steady_clock::now();
            try {
                auto recheck = [this] { recheck_parked(); };
                co_await pool_.run(recheck);
            } catch (const std::exception& e) {
                log::warn("delivery_recheck_failed", {{"error", e.what()}});
            }
        }
        if (claimed < settings_.batch) {
            idle.expires_after(settings_.idle_poll);
            co_await idle.async_wait(asio::use_awaitable);
        }
    }
}

}  // namespace capf::tftp
