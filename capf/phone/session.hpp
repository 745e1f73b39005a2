// Glue from an established TLS stream to the dialogue, with the one log line
// per session that operators grep for.
#pragma once

#include "capf/common/blocking_pool.hpp"
#include "capf/dialogue/dialogue.hpp"
#include "capf/phone/listener.hpp"
#include "protocol/decoder.hpp"

namespace capf {

/// A SessionHandler for PhoneListener. Lifetime: store, authority and pool
/// must outlive every session.
SessionHandler make_phone_session_handler(DialogueSettings settings, protocol::DecodeLimits limits,
                                          DeviceStore& store, Authority& authority,
                                          BlockingPool& pool);

}  // namespace capf
