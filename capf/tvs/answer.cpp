#include "capf/tvs/answer.hpp"

#include <algorithm>
#include <limits>

#include "ca/fingerprint.hpp"

namespace capf::tvs {

protocol::tvs::VerifyResponse answer(const protocol::tvs::VerifyRequest& request,
                                     const TrustedSnapshot& view,
                                     std::chrono::system_clock::time_point now) {
    protocol::tvs::VerifyResponse response;
    response.session_id = request.session_id;
    response.status = protocol::tvs::Status::invalid;
    const TrustedEntry* entry = view.find(ca::sha256_hex(request.certificate));
    if (entry == nullptr || entry->not_after <= now)
        return response;
    const auto left = std::chrono::duration_cast<std::chrono::seconds>(entry->not_after - now);
    const std::int64_t ttl = std::clamp<std::int64_t>(std::min(entry->ttl, left).count(), 1,
                                                      std::numeric_limits<std::uint32_t>::max());
    response.status = protocol::tvs::Status::valid;
    response.roles = entry->roles;
    response.ttl_seconds = static_cast<std::uint32_t>(ttl);
    return response;
}

}  // namespace capf::tvs
