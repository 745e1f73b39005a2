// The TVS answer (protocol/README.md, section 11): a pure function of the
// request, the trusted view and the time. No I/O, so it is unit-tested alone.
#pragma once

#include <chrono>

#include "capf/tvs/trusted_view.hpp"
#include "protocol/tvs_message.hpp"

namespace capf::tvs {

/// Valid, with the store's roles and TTL, when the SHA-256 of the request's
/// certificate DER is in `view` and the certificate has not expired at
/// `now`; invalid otherwise. The session id is echoed. A TTL never runs past
/// the certificate's expiry: a phone must not cache "valid" for a
/// certificate that expires sooner (never 0 for a valid answer: the phone
/// would ask again at once). The DER is not parsed: a request whose bytes
/// are not a certificate is simply not in the store.
protocol::tvs::VerifyResponse answer(const protocol::tvs::VerifyRequest& request,
                                     const TrustedSnapshot& view,
                                     std::chrono::system_clock::time_point now);

}  // namespace capf::tvs
