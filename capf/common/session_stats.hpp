// Counters of the phone listener, read by the admin methods (server.stats,
// server.summary) without either seeing the other.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

namespace capf {

struct PhoneListenerStats {
    std::atomic<std::uint64_t> accepted{0};
    std::atomic<std::uint64_t> rejected_over_limit{0};
    /// Closed at accept because their address already had
    /// max_sessions_per_source sessions.
    std::atomic<std::uint64_t> rejected_per_source{0};
    std::atomic<std::uint64_t> handshake_timeouts{0};
    std::atomic<std::uint64_t> handshake_failures{0};
    std::atomic<std::uint64_t> sessions_completed{0};
    std::atomic<std::size_t> active{0};
};

}  // namespace capf
