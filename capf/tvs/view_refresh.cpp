#include "capf/tvs/view_refresh.hpp"

#include <asio/steady_timer.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>

#include "capf/common/log.hpp"
#include "storage/trusted_certificates.hpp"

namespace capf::tvs {

bool load_view(TrustedView& view, storage::TrustedCertificateRepository& store, bool force) {
    if (!force && store.version() == view.current()->version())
        return false;
    storage::TrustedCertificateSnapshot stored = store.load_all();
    std::unordered_map<std::string, TrustedEntry> entries;
    entries.reserve(stored.certificates.size());
    for (auto& row : stored.certificates) {
        TrustedEntry entry;
        entry.roles.reserve(row.roles.size());
        for (const std::uint16_t role : row.roles)
            entry.roles.push_back(static_cast<std::uint8_t>(role));  // ITL roles fit a byte
        entry.ttl = row.ttl;
        entry.not_after = row.not_after;
        entries.emplace(std::move(row.sha256_hex), std::move(entry));
    }
    const std::size_t count = entries.size();
    view.replace(std::make_shared<const TrustedSnapshot>(stored.version, std::move(entries)));
    log::debug("tvs_view_loaded", {{"version", static_cast<long long>(stored.version)},
                                   {"certificates", static_cast<unsigned long long>(count)}});
    return true;
}

asio::awaitable<void> keep_view_current(TrustedView& view,
                                        storage::TrustedCertificateRepository& store,
                                        BlockingPool& pool, std::chrono::milliseconds interval) {
    asio::steady_timer timer(co_await asio::this_coro::executor);
    for (;;) {
        timer.expires_after(interval);
        co_await timer.async_wait(asio::use_awaitable);
        try {
            co_await pool.run([&view, &store] { return load_view(view, store); });
        } catch (const std::exception& e) {
            log::warn("tvs_view_refresh_failed", {{"error", e.what()}});
        }
    }
}

}  // namespace capf::tvs
