#include "protocol/decoder.hpp"

#include <algorithm>
#include <cstdio>
#include <string>

namespace capf::protocol {
namespace {

Error header_error(Errc code, std::size_t offset, std::string detail) {
    Error e;
    e.code = code;
    e.offset = offset;
    e.detail = std::move(detail);
    return e;
}

std::string hex32(std::uint32_t v) {
    char buf[16];
    std::snprintf(buf, sizeof buf, "0x%08x", v);
    return buf;
}

std::size_t effective_max(const DecodeLimits& limits) {
    return std::min(limits.max_message_size, absolute_max_message_size);
}

}  // namespace

std::variant<NeedMoreBytes, FrameHeader, Error> decode_header(
    std::span<const std::uint8_t> bytes, const DecodeLimits& limits,
    std::optional<std::uint32_t> expected_session_id) {
    if (bytes.empty()) {
        return NeedMoreBytes{};
    }
    if (bytes[0] != protocol_id) {
        return header_error(Errc::wrong_protocol_id, 0,
                            "protocol id " + std::to_string(bytes[0]) + ", must be 85 (0x55)");
    }
    if (bytes.size() < 2) {
        return NeedMoreBytes{};
    }
    FrameHeader header;
    if (auto command = command_from_byte(bytes[1])) {
        header.command = *command;
    } else {
        return header_error(Errc::unknown_command, 1,
                            "command " + std::to_string(bytes[1]) + " is not in 1..23");
    }
    if (bytes.size() < 6) {
        return NeedMoreBytes{};
    }
    header.session_id =
        static_cast<std::uint32_t>(bytes[2]) << 24 | static_cast<std::uint32_t>(bytes[3]) << 16 |
        static_cast<std::uint32_t>(bytes[4]) << 8 | static_cast<std::uint32_t>(bytes[5]);
    if (expected_session_id && header.session_id != *expected_session_id) {
        Error e = header_error(
            Errc::session_id_mismatch, 2,
            "session id " + hex32(header.session_id) + ", expected " + hex32(*expected_session_id));
        e.command = header.command;
        return e;
    }
    if (bytes.size() < header_size) {
        return NeedMoreBytes{};
    }
    header.body_length = static_cast<std::uint16_t>(bytes[6] << 8 | bytes[7]);
    const std::size_t total = header_size + header.body_length;
    if (total > effective_max(limits)) {
        Error e =
            header_error(Errc::message_too_large, 6,
                         "message of " + std::to_string(total) + " bytes exceeds the limit of " +
                             std::to_string(effective_max(limits)));
        e.command = header.command;
        return e;
    }
    return header;
}

std::variant<Message, Error> decode_body(const FrameHeader& header,
                                         std::span<const std::uint8_t> body) {
    Message message(header.command, header.session_id);
    std::size_t at = 0;
    auto fail = [&](Error e, std::size_t base) {
        e.offset += header_size + base;
        e.command = header.command;
        return e;
    };
    while (at < body.size()) {
        const std::size_t remaining = body.size() - at;
        if (remaining < element_header_size) {
            return fail(header_error(Errc::element_overrun, 0,
                                     "element header needs 3 bytes, " + std::to_string(remaining) +
                                         " remain in the body"),
                        at);
        }
        const std::uint8_t raw_tag = body[at];
        const std::size_t length = static_cast<std::size_t>(body[at + 1] << 8 | body[at + 2]);
        const auto tag = tag_from_byte(raw_tag);
        if (!tag) {
            Error e = header_error(Errc::unknown_tag, 0,
                                   "tag " + std::to_string(raw_tag) + " is not a CAPF element");
            e.raw_tag = raw_tag;
            return fail(std::move(e), at);
        }
        if (remaining - element_header_size < length) {
            Error e = header_error(Errc::element_overrun, 0,
                                   std::string(tag_name(*tag)) + " claims " +
                                       std::to_string(length) + " bytes, " +
                                       std::to_string(remaining - element_header_size) + " remain");
            e.tag = tag;
            return fail(std::move(e), at);
        }
        const auto value = body.subspan(at + element_header_size, length);
        if (auto err = validate_value(*tag, value)) {
            return fail(std::move(*err), at + element_header_size);
        }
        message.add_raw(*tag, value);
        at += element_header_size + length;
    }
    return message;
}

std::variant<Message, Error> decode_message(std::span<const std::uint8_t> bytes,
                                            const DecodeLimits& limits,
                                            std::optional<std::uint32_t> expected_session_id) {
    auto head = decode_header(bytes, limits, expected_session_id);
    if (auto* err = std::get_if<Error>(&head)) {
        return std::move(*err);
    }
    if (std::holds_alternative<NeedMoreBytes>(head)) {
        return header_error(
            Errc::length_overrun, bytes.size(),
            "buffer of " + std::to_string(bytes.size()) + " bytes ends inside the 8-byte header");
    }
    const auto& header = std::get<FrameHeader>(head);
    const std::size_t total = header_size + header.body_length;
    if (bytes.size() < total) {
        Error e = header_error(Errc::length_overrun, bytes.size(),
                               "body length " + std::to_string(header.body_length) + " but only " +
                                   std::to_string(bytes.size() - header_size) + " bytes follow");
        e.command = header.command;
        return e;
    }
    if (bytes.size() > total) {
        Error e = header_error(Errc::trailing_bytes, total,
                               std::to_string(bytes.size() - total) + " bytes after the message");
        e.command = header.command;
        return e;
    }
    return decode_body(header, bytes.subspan(header_size, header.body_length));
}

FrameReader::FrameReader(DecodeLimits limits, std::optional<std::uint32_t> expected_session_id)
    : limits_(limits), expected_session_id_(expected_session_id) {}

void FrameReader::feed(std::span<const std::uint8_t> bytes) {
    if (failure_) {
        return;  // nothing after an error can be trusted, so don't hold it
    }
    buffer_.append(bytes);
}

ReadResult FrameReader::next() {
    if (failure_) {
        return *failure_;
    }
    const auto pending = buffer_.pending();
    auto head = decode_header(pending, limits_, expected_session_id_);
    if (auto* err = std::get_if<Error>(&head)) {
        failure_ = *err;
        return *failure_;
    }
    if (std::holds_alternative<NeedMoreBytes>(head)) {
        return NeedMoreBytes{};
    }
    const auto& header = std::get<FrameHeader>(head);
    const std::size_t total = header_size + header.body_length;
    if (pending.size() < total) {
        return NeedMoreBytes{};
    }
    auto decoded = decode_body(header, pending.subspan(header_size, header.body_length));
    if (auto* err = std::get_if<Error>(&decoded)) {
        failure_ = *err;
        return *failure_;
    }
    buffer_.consume(total);
    return std::move(std::get<Message>(decoded));
}

std::optional<Error> FrameReader::end_of_stream() const {
    if (failure_) {
        return failure_;
    }
    if (buffered() == 0) {
        return std::nullopt;
    }
    Error e = header_error(
        Errc::length_overrun, buffered(),
        "stream ended " + std::to_string(buffered()) + " bytes into an incomplete message");
    const auto pending = buffer_.pending();
    if (pending.size() >= 2) {
        e.command = command_from_byte(pending[1]);
    }
    return e;
}

}  // namespace capf::protocol
