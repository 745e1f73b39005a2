#include "capf/phone/message_channel.hpp"

#include <system_error>

namespace capf {
namespace {

/// Runs a stream operation, turning every way the phone can go away (a TLS
/// alert, a reset, a broken pipe) into PeerClosed: the channel's contract
/// is ProtocolError, TimedOut and PeerClosed, nothing else.
template <typename Op, typename R = typename std::invoke_result_t<Op>::value_type>
asio::awaitable<R> or_peer_closed(Op op) {
    std::string gone;
    try {
        co_return co_await op();
    } catch (const TlsError& e) {
        gone = e.what();
    } catch (const std::system_error& e) {
        gone = e.what();
    }
    throw PeerClosed("the phone went away: " + gone);
}

}  // namespace

asio::awaitable<void> TlsMessageChannel::send(const protocol::Message& message) {
    const protocol::Bytes wire = protocol::encode(message);
    auto write = [this, &wire]() -> asio::awaitable<void> {
        co_await stream_.write(wire, deadline_after(write_timeout_));
    };
    co_await or_peer_closed(write);
}

asio::awaitable<protocol::Message> TlsMessageChannel::receive(Deadline deadline) {
    for (;;) {
        auto next = reader_.next();
        if (auto* message = std::get_if<protocol::Message>(&next)) {
            co_return std::move(*message);
        }
        if (auto* error = std::get_if<protocol::Error>(&next)) {
            throw protocol::ProtocolError(*error);
        }
        auto read = [this, deadline] { return stream_.read_some(deadline); };
        const auto data = co_await or_peer_closed(read);
        if (data.empty()) {
            if (auto partial = reader_.end_of_stream()) {
                throw protocol::ProtocolError(*partial);
            }
            throw PeerClosed("the phone closed the connection");
        }
        reader_.feed(data);
    }
}

}  // namespace capf
