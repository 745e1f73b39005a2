// Typed errors of the protocol module. Every rejection the codec can make has
// its own code, so the service can log the precise cause and map it to a
// wire reason in one place.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

#include "protocol/types.hpp"

namespace capf::protocol {

enum class Errc {
    wrong_protocol_id = 1,       ///< first header byte is not 0x55
    unknown_command,             ///< command byte outside 1..23
    session_id_mismatch,         ///< session id differs from the one the server chose
    length_overrun,              ///< the stream or buffer ended before the body did
    trailing_bytes,              ///< bytes after a complete message in a single-message buffer
    element_overrun,             ///< an element header or value runs past the body
    wrong_element_length,        ///< a fixed-size element with another length
    text_not_terminated,         ///< a text value without its trailing NUL
    text_embedded_nul,           ///< a text value with a NUL before its end
    text_not_printable,          ///< a text value with a control byte (or non-ASCII in a name)
    unknown_tag,                 ///< an element tag the protocol lacks (server answers reason 7)
    malformed_certificate,       ///< CERTIFICATE value not `01 len 00 type DER`
    malformed_sha2_signed_data,  ///< SHA2_SIGNED_DATA not `hash len signature`
    malformed_sudi_data,         ///< SUDI_DATA not the layout of protocol/README.md, 5.3
    message_too_large,           ///< header announces a message over the configured maximum
    missing_element,             ///< a required element is absent
    value_too_large,             ///< encoding: a value or body does not fit its 16-bit length
    invalid_value,  ///< a field outside what the format allows (e.g. hash id, modulus index)
};

/// Stable snake_case name of an error code, for logs and test vectors.
std::string_view errc_name(Errc code) noexcept;

/// What went wrong and where. `offset` counts from the first byte of the
/// message (0 is the protocol id); `tag` is set when an element is at fault.
struct Error {
    Errc code{};
    std::size_t offset = 0;
    std::optional<Tag> tag;
    /// The raw tag byte for unknown_tag (which has no Tag value).
    std::optional<std::uint8_t> raw_tag;
    std::optional<Command> command;
    std::string detail;

    /// One line a person can act on, e.g.
    /// "element_overrun in AUTH_RESPONSE at offset 31: DEVICE_NAME claims 40 bytes, 12 remain".
    std::string message() const;
};

/// Thrown at the module's edges that cannot return a result: building a
/// message with an unencodable value, or asking for a missing element.
class ProtocolError : public std::runtime_error {
  public:
    explicit ProtocolError(Error error);
    const Error& error() const noexcept { return error_; }
    Errc code() const noexcept { return error_.code; }

  private:
    Error error_;
};

}  // namespace capf::protocol
