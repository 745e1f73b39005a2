#include "protocol/error.hpp"

#include <cstdio>

namespace capf::protocol {

std::string_view errc_name(Errc code) noexcept {
    switch (code) {
        case Errc::wrong_protocol_id:
            return "wrong_protocol_id";
        case Errc::unknown_command:
            return "unknown_command";
        case Errc::session_id_mismatch:
            return "session_id_mismatch";
        case Errc::length_overrun:
            return "length_overrun";
        case Errc::trailing_bytes:
            return "trailing_bytes";
        case Errc::element_overrun:
            return "element_overrun";
        case Errc::wrong_element_length:
            return "wrong_element_length";
        case Errc::text_not_terminated:
            return "text_not_terminated";
        case Errc::text_embedded_nul:
            return "text_embedded_nul";
        case Errc::text_not_printable:
            return "text_not_printable";
        case Errc::unknown_tag:
            return "unknown_tag";
        case Errc::malformed_certificate:
            return "malformed_certificate";
        case Errc::malformed_sha2_signed_data:
            return "malformed_sha2_signed_data";
        case Errc::malformed_sudi_data:
            return "malformed_sudi_data";
        case Errc::message_too_large:
            return "message_too_large";
        case Errc::missing_element:
            return "missing_element";
        case Errc::value_too_large:
            return "value_too_large";
        case Errc::invalid_value:
            return "invalid_value";
    }
    return "unknown_error";
}

std::string Error::message() const {
    std::string out(errc_name(code));
    if (command) {
        out += " in ";
        out += command_name(*command);
    }
    out += " at offset " + std::to_string(offset);
    if (tag) {
        out += " (";
        out += tag_name(*tag);
        out += ")";
    } else if (raw_tag) {
        out += " (tag " + std::to_string(*raw_tag) + ")";
    }
    if (!detail.empty()) {
        out += ": ";
        out += detail;
    }
    return out;
}

ProtocolError::ProtocolError(Error error)
    : std::runtime_error(error.message()), error_(std::move(error)) {}

}  // namespace capf::protocol
