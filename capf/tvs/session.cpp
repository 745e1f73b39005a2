#include "capf/tvs/session.hpp"

#include <system_error>

#include "capf/common/log.hpp"
#include "capf/tvs/answer.hpp"

namespace capf::tvs {
namespace {

namespace wire = protocol::tvs;

/// Why a connection ended, for its one log line.
enum class Ending { peer_closed, malformed, timed_out, request_limit, gone };

const char* ending_name(Ending e) {
    switch (e) {
        case Ending::peer_closed:
            return "peer_closed";
        case Ending::malformed:
            return "malformed";
        case Ending::timed_out:
            return "read_timeout";
        case Ending::request_limit:
            return "request_limit";
        case Ending::gone:
            return "peer_gone";
    }
    return "unknown";
}

struct Connection {
    const TvsSessionSettings& settings;
    const TrustedView& view;
    TvsStats& stats;
    TlsStream& stream;
    const PeerInfo& peer;
    wire::FrameReader reader{settings.limits, wire::Command::verify_request};
    unsigned answered = 0;

    /// The next whole request, or why there is none. Every request must be
    /// complete by one deadline, whatever the split of its bytes.
    asio::awaitable<std::variant<wire::VerifyRequest, Ending>> next_request() {
        const Deadline deadline = deadline_after(settings.read_timeout);
        for (;;) {
            auto next = reader.next();
            if (auto* message = std::get_if<wire::Message>(&next))
                co_return std::get<wire::VerifyRequest>(std::move(*message));
            if (auto* error = std::get_if<wire::Error>(&next)) {
                log_malformed(*error);
                co_return Ending::malformed;
            }
            std::vector<std::uint8_t> data;
            try {
                data = co_await stream.read_some(deadline);
            } catch (const TimedOut&) {
                ++stats.read_timeouts;
                co_return Ending::timed_out;
            }
            if (data.empty()) {
                if (auto partial = reader.end_of_stream()) {
                    log_malformed(*partial);
                    co_return Ending::malformed;
                }
                co_return Ending::peer_closed;
            }
            reader.feed(data);
        }
    }

    void log_malformed(const wire::Error& error) {
        ++stats.malformed;
        log::info("tvs_request_malformed", {{"peer", peer.address}, {"error", error.message()}});
    }

    asio::awaitable<Ending> serve() {
        for (;;) {
            if (answered == settings.max_requests_per_connection) {
                ++stats.request_limit_reached;
                co_return Ending::request_limit;
            }
            auto request = co_await next_request();
            if (auto* ending = std::get_if<Ending>(&request))
                co_return *ending;
            const auto& verify = std::get<wire::VerifyRequest>(request);
            const wire::VerifyResponse response =
                answer(verify, *view.current(), std::chrono::system_clock::now());
            ++(response.valid() ? stats.valid : stats.invalid);
            log::debug("tvs_answer", {{"peer", peer.address},
                                      {"device", verify.device_name},
                                      {"valid", response.valid()}});
            // Named, not a temporary in the co_await: g++ 12 destroyed such a
            // temporary twice (a double free, found by the TVS client's author).
            const protocol::Bytes frame = wire::encode(response);
            co_await stream.write(frame, deadline_after(settings.write_timeout));
            ++answered;
        }
    }
};

}  // namespace

SessionHandler make_tvs_session_handler(TvsSessionSettings settings, const TrustedView& view,
                                        TvsStats& stats) {
    return [settings, &view, &stats](TlsStream& stream,
                                     const PeerInfo& peer) -> asio::awaitable<void> {
        Connection connection{settings, view, stats, stream, peer};
        Ending ending = Ending::gone;
        try {
            ending = co_await connection.serve();
        } catch (const TlsError&) {
            // The client went away mid-request (an alert, a reset): nothing to answer.
        } catch (const std::system_error&) {
        } catch (const TimedOut&) {
            // A write that the client did not read in time.
        }
        log::debug("tvs_connection", {{"peer", peer.address},
                                      {"answered", connection.answered},
                                      {"ending", ending_name(ending)}});
    };
}

}  // namespace capf::tvs
