// One TVS connection on the shared listener machinery: read requests (split
// across TLS records or several on one connection, as they come), answer
// each from the trusted view, close on anything malformed.
#pragma once

#include <chrono>

#include "capf/common/session_stats.hpp"
#include "capf/phone/listener.hpp"
#include "capf/tvs/trusted_view.hpp"
#include "protocol/tvs_message.hpp"

namespace capf::tvs {

struct TvsSessionSettings {
    /// From the handshake, or the last answer, to the whole next request: a
    /// client that sends one byte per record still has to finish in time.
    std::chrono::milliseconds read_timeout = std::chrono::seconds(10);
    std::chrono::milliseconds write_timeout = std::chrono::seconds(10);
    unsigned max_requests_per_connection = 100;
    protocol::tvs::Limits limits;
};

/// A SessionHandler for the listener of tvs.listen. Lifetime: `view` and
/// `stats` must outlive every session.
SessionHandler make_tvs_session_handler(TvsSessionSettings settings, const TrustedView& view,
                                        TvsStats& stats);

}  // namespace capf::tvs
