// The Trust Verification Service wire codec (protocol/README.md, section 11):
// VERIFY_REQUEST and VERIFY_RESPONSE, a whole-buffer decoder and an
// incremental frame reader. Like the CAPF codec it is pure: no socket, no
// clock, no Botan. It has its own vocabulary and errors (TVS frames differ
// from CAPF's in header, tags and rules); it shares with the CAPF codec only
// Bytes, the element header size and NeedMoreBytes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "protocol/decoder.hpp"
#include "protocol/stream_buffer.hpp"
#include "protocol/types.hpp"

namespace capf::protocol::tvs {

inline constexpr std::uint8_t protocol_id = 87;  // 0x57
inline constexpr std::uint8_t protocol_version = 1;
/// protocol id (1) + version (1) + command (1) + reserved (1) + session id (4)
/// + body length (2)
inline constexpr std::size_t header_size = 10;
/// The prefix byte of the device name element's value, before the name.
inline constexpr std::uint8_t device_name_prefix = 0x01;

enum class Command : std::uint8_t {
    verify_request = 1,
    verify_response = 2,
    query_request = 3,   ///< named by the known implementations, never used
    query_response = 4,  ///< named by the known implementations, never used
};

/// The name section 11 gives it, e.g. "VERIFY_REQUEST"; "command N" otherwise.
std::string command_name(std::uint8_t command);

enum class Tag : std::uint8_t {
    device_name = 1,  ///< request: 0x01 then the name, no NUL
    certificate = 2,  ///< request: the DER to verify
    status = 7,       ///< response: 1 byte
    roles = 8,        ///< response: one byte per role
    ttl = 9,          ///< response: 4 bytes, seconds
};

/// The name section 11 gives it, e.g. "DEVICE_NAME"; "tag N" otherwise.
std::string tag_name(std::uint8_t tag);

enum class Status : std::uint8_t { valid = 0, invalid = 1 };

/// Role numbers of the ITL (section 9). Any byte is kept: a store may hold a
/// role this list does not name.
namespace role {
inline constexpr std::uint8_t sast = 0;
inline constexpr std::uint8_t ccm = 1;
inline constexpr std::uint8_t ccm_tftp = 2;
inline constexpr std::uint8_t tftp = 3;
inline constexpr std::uint8_t capf = 4;
inline constexpr std::uint8_t application_server = 7;
inline constexpr std::uint8_t tvs = 21;
}  // namespace role

/// A phone asks whether `certificate` is trusted, and for what.
struct VerifyRequest {
    std::uint32_t session_id = 0;
    std::string device_name;  ///< without the 0x01 prefix, e.g. "CP-8845-SEP001122AABBCC"
    Bytes certificate;        ///< whole DER, not parsed here
    friend bool operator==(const VerifyRequest&, const VerifyRequest&) = default;
};

/// The answer. An invalid answer carries no roles and no TTL.
struct VerifyResponse {
    std::uint32_t session_id = 0;  ///< the request's, echoed
    Status status = Status::invalid;
    std::vector<std::uint8_t> roles;           ///< valid only; wire order kept
    std::optional<std::uint32_t> ttl_seconds;  ///< valid only; how long the phone may cache it
    bool valid() const noexcept { return status == Status::valid; }
    friend bool operator==(const VerifyResponse&, const VerifyResponse&) = default;
};

using Message = std::variant<VerifyRequest, VerifyResponse>;

inline constexpr std::size_t default_max_body_size = 16 * 1024;
inline constexpr std::size_t default_max_device_name_size = 128;

struct Limits {
    /// A request is a device name and one certificate: 16 KiB holds any
    /// certificate a phone meets while bounding what one peer makes us
    /// buffer. Values above 65535 act as 65535 (the length field's limit).
    std::size_t max_body_size = default_max_body_size;
    /// Bytes of the name, after the 0x01 prefix.
    std::size_t max_device_name_size = default_max_device_name_size;
    /// Section 11 lists five tags. By default another tag (or one of the
    /// other direction's) is an error, as in CAPF; true skips it instead.
    /// Skipping is a guess about future phones, hence off by default.
    bool skip_unknown_tags = false;
};

enum class Errc {
    wrong_protocol_id = 1,  ///< first header byte is not 87
    wrong_version,          ///< second header byte is not 1
    unknown_command,        ///< command byte not in 1..4
    unsupported_command,    ///< QUERY_REQUEST/QUERY_RESPONSE: named, never used, not served
    unexpected_command,     ///< a well-formed message of the other direction
    reserved_not_zero,      ///< the reserved header byte is not 0
    body_too_large,         ///< the header announces a body over Limits::max_body_size
    length_overrun,         ///< the buffer or stream ended before the body did
    trailing_bytes,         ///< bytes after the message in a single-message buffer
    element_overrun,        ///< an element header or value runs past the body
    unknown_tag,            ///< a tag this command does not carry
    duplicate_element,      ///< the same tag twice
    missing_element,        ///< a required element is absent
    wrong_element_length,   ///< STATUS not 1 byte, TTL not 4
    bad_device_name,        ///< no 0x01 prefix, empty, or not printable ASCII
    device_name_too_long,   ///< longer than Limits::max_device_name_size
    empty_certificate,      ///< CERTIFICATE with no bytes
    invalid_status,         ///< STATUS neither 0 nor 1
    element_not_allowed,    ///< ROLES or TTL in an invalid answer
    value_too_large,        ///< encoding: a value or body over its 16-bit length
};

/// Stable snake_case name of an error code, for logs and tests.
std::string_view errc_name(Errc code) noexcept;

/// What went wrong and where. `offset` counts from the first byte of the
/// message (0 is the protocol id).
struct Error {
    Errc code{};
    std::size_t offset = 0;
    std::optional<std::uint8_t> command;  ///< raw byte, once the header got that far
    std::optional<std::uint8_t> tag;      ///< raw byte, when an element is at fault
    std::string detail;

    /// One line, e.g. "element_overrun in VERIFY_REQUEST at offset 13
    /// (CERTIFICATE): claims 841 bytes, 20 remain".
    std::string message() const;
};

/// Thrown by the encoders for a value that cannot go on the wire.
class TvsError : public std::runtime_error {
  public:
    explicit TvsError(Error error);
    const Error& error() const noexcept { return error_; }
    Errc code() const noexcept { return error_.code; }

  private:
    Error error_;
};

/// The whole frame, header and body in one buffer (a real phone sends them
/// in one TLS record). Elements: DEVICE_NAME, CERTIFICATE. Throws TvsError:
/// bad_device_name (empty, not printable ASCII), empty_certificate,
/// value_too_large. The configurable Limits are the reader's, not checked here.
Bytes encode(const VerifyRequest& request);

/// STATUS; for a valid answer then ROLES (always, possibly empty) and TTL
/// (when set). Throws TvsError: element_not_allowed (roles or a TTL on an
/// invalid answer), value_too_large.
Bytes encode(const VerifyResponse& response);

Bytes encode(const Message& message);

/// The header, read before its body has arrived.
struct FrameHeader {
    Command command{};
    std::uint32_t session_id = 0;
    std::uint16_t body_length = 0;
};

/// Checks as much of a header as `bytes` holds, failing as early as one byte
/// allows. Errors: wrong_protocol_id, wrong_version, unknown_command,
/// unsupported_command, reserved_not_zero, body_too_large.
std::variant<NeedMoreBytes, FrameHeader, Error> decode_header(std::span<const std::uint8_t> bytes,
                                                              const Limits& limits = {});

/// Decodes a body whose header was accepted. Elements may come in any order;
/// each at most once. Errors: element_overrun, unknown_tag, duplicate_element,
/// missing_element, wrong_element_length, bad_device_name,
/// device_name_too_long, empty_certificate, invalid_status,
/// element_not_allowed (offsets from the start of the message).
std::variant<Message, Error> decode_body(const FrameHeader& header,
                                         std::span<const std::uint8_t> body,
                                         const Limits& limits = {});

/// A buffer that must hold exactly one message. Errors: those of
/// decode_header and decode_body, length_overrun (the buffer ends first),
/// trailing_bytes (it goes on after).
std::variant<Message, Error> decode_message(std::span<const std::uint8_t> bytes,
                                            const Limits& limits = {});
/// As decode_message, plus unexpected_command for a VERIFY_RESPONSE.
std::variant<VerifyRequest, Error> decode_request(std::span<const std::uint8_t> bytes,
                                                  const Limits& limits = {});
/// As decode_message, plus unexpected_command for a VERIFY_REQUEST.
std::variant<VerifyResponse, Error> decode_response(std::span<const std::uint8_t> bytes,
                                                    const Limits& limits = {});

using ReadResult = std::variant<NeedMoreBytes, Message, Error>;

/// Splits a byte stream into TVS messages, whatever the split of the reads
/// (a header across TLS records included).
///
/// Usage: feed() what arrived, then next() until it answers NeedMoreBytes.
/// After an Error the reader stays failed and returns it again: the stream
/// cannot be resynchronised, and the protocol's answer to a malformed
/// request is to close. At end of stream, end_of_stream() reports a message
/// left incomplete.
///
/// Memory: at most one partial message (its size checked against
/// Limits::max_body_size as soon as the header is in) plus what the caller
/// feeds between calls to next(). feed() copies; the caller keeps its buffer.
class FrameReader {
  public:
    /// `accept_only`: the direction this end reads (a server reads
    /// requests); the other command is unexpected_command.
    explicit FrameReader(Limits limits = {}, std::optional<Command> accept_only = std::nullopt);

    void feed(std::span<const std::uint8_t> bytes);
    ReadResult next();
    /// length_overrun when the stream ended inside a message, else nothing.
    std::optional<Error> end_of_stream() const;
    /// Bytes fed but not yet returned as messages.
    std::size_t buffered() const noexcept { return buffer_.size(); }

  private:
    Limits limits_;
    std::optional<Command> accept_only_;
    StreamBuffer buffer_;
    std::optional<Error> failure_;
};

/// One line for logs: "VERIFY_REQUEST session=00000001 device=\"CP-...\"
/// certificate=<841 bytes>" or "VERIFY_RESPONSE session=... valid roles=0,1 ttl=3600".
std::string describe(const Message& message);

}  // namespace capf::protocol::tvs
