// CAPF messages over a TLS stream: one encoded message per write, an
// incremental frame reader for whatever split the reads bring.
#pragma once

#include <chrono>

#include "capf/dialogue/ports.hpp"
#include "capf/tls/stream.hpp"
#include "protocol/decoder.hpp"

namespace capf {

/// Lifetime: `stream` must outlive the channel.
class TlsMessageChannel : public MessageChannel {
  public:
    TlsMessageChannel(TlsStream& stream, protocol::DecodeLimits limits,
                      std::chrono::milliseconds write_timeout)
        : stream_(stream), reader_(limits), write_timeout_(write_timeout) {}

    asio::awaitable<void> send(const protocol::Message& message) override;
    asio::awaitable<protocol::Message> receive(Deadline deadline) override;
    void expect_session_id(std::uint32_t session_id) override {
        reader_.expect_session_id(session_id);
    }

  private:
    TlsStream& stream_;
    protocol::FrameReader reader_;
    std::chrono::milliseconds write_timeout_;
};

}  // namespace capf
