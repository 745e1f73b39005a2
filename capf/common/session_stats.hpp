// Counters of the phone listener and of the TVS, read by the admin methods
// (server.stats, server.summary, metrics) without either seeing the other.
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

/// What the Trust Verification Service answered (capf/tvs/session.hpp).
/// The connections themselves are counted by its listener's PhoneListenerStats.
struct TvsStats {
    std::atomic<std::uint64_t> valid{0};
    std::atomic<std::uint64_t> invalid{0};
    /// Connections closed for a request that could not be decoded (the
    /// protocol has no error answer).
    std::atomic<std::uint64_t> malformed{0};
    /// Connections closed because a whole request did not arrive within
    /// tvs.read_timeout.
    std::atomic<std::uint64_t> read_timeouts{0};
    /// Connections closed after tvs.max_requests_per_connection answers.
    std::atomic<std::uint64_t> request_limit_reached{0};
};

}  // namespace capf
