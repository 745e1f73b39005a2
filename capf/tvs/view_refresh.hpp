// Keeps the TVS's in-memory view current with the trusted-certificate store
// shared by every node: the store's change counter is read every
// tvs.refresh_interval (one cheap query, not one per answer), and the whole
// store is loaded again only when it moved.
#pragma once

#include <asio/awaitable.hpp>
#include <chrono>

#include "capf/common/blocking_pool.hpp"
#include "capf/tvs/trusted_view.hpp"
#include "storage/connection_pool_fwd.hpp"

namespace capf::storage {
class TrustedCertificateRepository;
}

namespace capf::tvs {

/// Loads the store into `view` when its change counter differs from the
/// view's (or always, with `force`). Blocking: run it on the pool. Throws
/// StorageError; the view is unchanged then. Returns whether it loaded.
bool load_view(TrustedView& view, storage::TrustedCertificateRepository& store, bool force = false);

/// Calls load_view every `interval` on `pool` until the io_context stops. A
/// failure is logged (tvs_view_refresh_failed) and tried again at the next
/// interval; the last good view keeps answering meanwhile.
asio::awaitable<void> keep_view_current(TrustedView& view,
                                        storage::TrustedCertificateRepository& store,
                                        BlockingPool& pool, std::chrono::milliseconds interval);

}  // namespace capf::tvs
