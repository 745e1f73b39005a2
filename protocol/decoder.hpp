// Decoding CAPF messages: a whole-buffer decoder and an incremental frame
// reader for a byte stream. Neither touches a socket or a clock.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <variant>

#include "protocol/error.hpp"
#include "protocol/message.hpp"
#include "protocol/stream_buffer.hpp"

namespace capf::protocol {

/// The largest message the 16-bit length field allows.
inline constexpr std::size_t absolute_max_message_size = header_size + max_body_size;
/// A CAPF message carries at most a certificate or two and their signatures;
/// 16 KiB leaves ample room while bounding what one peer can make us buffer.
inline constexpr std::size_t default_max_message_size = 16 * 1024;

struct DecodeLimits {
    /// Header plus body. Values above absolute_max_message_size act as it.
    std::size_t max_message_size = default_max_message_size;
};

/// "Feed me more bytes": not an error.
struct NeedMoreBytes {
    friend bool operator==(NeedMoreBytes, NeedMoreBytes) = default;
};

/// The header of a message, read before its body has arrived.
struct FrameHeader {
    Command command{};
    std::uint32_t session_id = 0;
    std::uint16_t body_length = 0;
};

/// Checks as much of a header as `bytes` holds, failing as early as one byte
/// allows. Errors: wrong_protocol_id, unknown_command, session_id_mismatch
/// (only when `expected_session_id` is set), message_too_large.
std::variant<NeedMoreBytes, FrameHeader, Error> decode_header(
    std::span<const std::uint8_t> bytes, const DecodeLimits& limits,
    std::optional<std::uint32_t> expected_session_id);

/// Decodes the elements of a body. Errors: element_overrun,
/// wrong_element_length, text_*, unknown_tag, malformed_* (offsets are
/// relative to the start of the message).
std::variant<Message, Error> decode_body(const FrameHeader& header,
                                         std::span<const std::uint8_t> body);

/// Decodes a buffer that must hold exactly one message. Errors: those of
/// decode_header and decode_body, length_overrun when the buffer ends before
/// the body does, trailing_bytes when it goes on after it.
std::variant<Message, Error> decode_message(std::span<const std::uint8_t> bytes,
                                            const DecodeLimits& limits = {},
                                            std::optional<std::uint32_t> expected_session_id = {});

using ReadResult = std::variant<NeedMoreBytes, Message, Error>;

/// Splits a byte stream into messages, whatever the split of the reads.
///
/// Usage: feed() what arrived, then call next() until it answers
/// NeedMoreBytes. After it has returned an Error the reader stays failed and
/// returns that error again: a CAPF stream cannot be resynchronised. At end
/// of stream, end_of_stream() reports a message left incomplete.
///
/// Memory: the reader holds at most one partial message (bounded by
/// max_message_size, checked as soon as the header is in) plus whatever the
/// caller feeds between calls to next().
class FrameReader {
  public:
    explicit FrameReader(DecodeLimits limits = {},
                         std::optional<std::uint32_t> expected_session_id = {});

    /// From now on, a message with another session id is an error.
    void expect_session_id(std::uint32_t session_id) noexcept { expected_session_id_ = session_id; }

    /// Copies `bytes` into the reader; the caller may reuse its buffer.
    void feed(std::span<const std::uint8_t> bytes);

    /// The next complete message, NeedMoreBytes, or the error that ends the stream.
    ReadResult next();

    /// length_overrun when the stream ended inside a message, else nothing.
    std::optional<Error> end_of_stream() const;

    /// Bytes fed but not yet returned as messages.
    std::size_t buffered() const noexcept { return buffer_.size(); }

  private:
    DecodeLimits limits_;
    std::optional<std::uint32_t> expected_session_id_;
    StreamBuffer buffer_;
    std::optional<Error> failure_;
};

}  // namespace capf::protocol
