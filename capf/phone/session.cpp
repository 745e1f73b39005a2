#include "capf/phone/session.hpp"

#include "ca/signer_cache.hpp"
#include "capf/common/log.hpp"
#include "capf/dialogue/outcome.hpp"
#include "capf/phone/message_channel.hpp"

namespace capf {
namespace {

std::uint32_t new_session_id() {
    std::uint32_t id = 0;
    while (id == 0) {
        ca::thread_rng().randomize(reinterpret_cast<std::uint8_t*>(&id), sizeof id);
    }
    return id;
}

}  // namespace

SessionHandler make_phone_session_handler(DialogueSettings settings, protocol::DecodeLimits limits,
                                          DeviceStore& store, Authority& authority,
                                          BlockingPool& pool) {
    return [settings, limits, &store, &authority, &pool](
               TlsStream& stream, const PeerInfo& peer) -> asio::awaitable<void> {
        const auto started = std::chrono::steady_clock::now();
        const std::uint32_t session_id = new_session_id();
        TlsMessageChannel channel(stream, limits, settings.read_timeout);
        Dialogue dialogue(settings, store, authority, pool, peer.address);
        const SessionOutcome outcome = co_await dialogue.run(channel, session_id);
        const auto millis = std::chrono::duration_cast<std::chrono::milliseconds>(
                                std::chrono::steady_clock::now() - started)
                                .count();
        char sid[12];
        std::snprintf(sid, sizeof sid, "%08x", session_id);
        log::info("session",
                  {{"device", outcome.device.empty() ? std::string("-") : outcome.device},
                   {"peer", peer.address},
                   {"session_id", std::string(sid)},
                   {"operation", std::string(storage::to_text(outcome.operation))},
                   {"outcome", std::string(session_result_name(outcome.result))},
                   {"cause", outcome.cause_text()},
                   {"end_reason", outcome.end_reason
                                      ? std::to_string(static_cast<int>(*outcome.end_reason))
                                      : std::string("-")},
                   {"tls", stream.session().negotiated()},
                   {"duration_ms", static_cast<long long>(millis)}});
    };
}

}  // namespace capf
