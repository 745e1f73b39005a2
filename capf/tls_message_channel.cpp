#include "capf/tls_message_channel.hpp"

namespace capf {

asio::awaitable<void> TlsMessageChannel::send(const protocol::Message& message) {
    const protocol::Bytes wire = protocol::encode(message);
    co_await stream_.write(wire, std::chrono::steady_clock::now() + write_timeout_);
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
        const auto data = co_await stream_.read_some(deadline);
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
