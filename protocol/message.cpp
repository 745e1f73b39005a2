#include "protocol/message.hpp"

#include <cstdio>

namespace capf::protocol {

Message& Message::push(Tag tag, Bytes value) {
    if (value.size() > max_element_value_size) {
        Error e;
        e.code = Errc::value_too_large;
        e.tag = tag;
        e.command = command_;
        e.detail = std::to_string(value.size()) + " bytes do not fit a 16-bit length";
        throw ProtocolError(std::move(e));
    }
    elements_.push_back(Element{tag, std::move(value)});
    return *this;
}

Message& Message::add_raw(Tag tag, std::span<const std::uint8_t> value) {
    if (value.size() <= max_element_value_size) {
        if (auto err = validate_value(tag, value)) {
            err->command = command_;
            throw ProtocolError(std::move(*err));
        }
    }
    return push(tag, Bytes(value.begin(), value.end()));
}

std::size_t Message::count(Tag tag) const noexcept {
    std::size_t n = 0;
    for (const auto& e : elements_) {
        n += e.tag == tag ? 1 : 0;
    }
    return n;
}

const Element* Message::raw(Tag tag) const noexcept {
    for (const auto& e : elements_) {
        if (e.tag == tag) {
            return &e;
        }
    }
    return nullptr;
}

std::size_t Message::body_size() const noexcept {
    std::size_t n = 0;
    for (const auto& e : elements_) {
        n += element_header_size + e.value.size();
    }
    return n;
}

void Message::throw_missing(Tag tag) const {
    Error e;
    e.code = Errc::missing_element;
    e.tag = tag;
    e.command = command_;
    e.detail =
        std::string(command_name(command_)) + " has no " + std::string(tag_name(tag)) + " element";
    throw ProtocolError(std::move(e));
}

Bytes encode(const Message& message) {
    const std::size_t body = message.body_size();
    if (body > max_body_size) {
        Error e;
        e.code = Errc::value_too_large;
        e.command = message.command();
        e.detail = "body of " + std::to_string(body) + " bytes exceeds the 65535-byte maximum";
        throw ProtocolError(std::move(e));
    }
    Bytes out;
    out.reserve(header_size + body);
    const std::uint32_t sid = message.session_id();
    out.push_back(protocol_id);
    out.push_back(static_cast<std::uint8_t>(message.command()));
    for (int shift = 24; shift >= 0; shift -= 8) {
        out.push_back(static_cast<std::uint8_t>((sid >> shift) & 0xFF));
    }
    out.push_back(static_cast<std::uint8_t>(body >> 8));
    out.push_back(static_cast<std::uint8_t>(body & 0xFF));
    for (const auto& e : message.elements()) {
        out.push_back(static_cast<std::uint8_t>(e.tag));
        out.push_back(static_cast<std::uint8_t>(e.value.size() >> 8));
        out.push_back(static_cast<std::uint8_t>(e.value.size() & 0xFF));
        out.insert(out.end(), e.value.begin(), e.value.end());
    }
    return out;
}

namespace {

std::string describe_value(const Element& e) {
    switch (value_kind(e.tag)) {
        case ValueKind::u8:
            return std::to_string(e.value[0]);
        case ValueKind::u16:
            return std::to_string(detail::decode_u16(e.value));
        case ValueKind::text:
            if (e.tag == Tag::password) {
                // Secrets never reach logs: show only whether one was sent.
                return "<" + std::to_string(e.value.size() - 1) + " chars>";
            }
            return "\"" + detail::decode_text(e.value) + "\"";
        case ValueKind::certificate: {
            const auto cert = detail::decode_certificate(e.value);
            return "<type " + std::to_string(static_cast<int>(cert.type)) + ", " +
                   std::to_string(cert.der.size()) + " bytes DER>";
        }
        case ValueKind::sha2_signed_data: {
            const auto sig = detail::decode_sha2_signed_data(e.value);
            return "<hash " + std::to_string(static_cast<int>(sig.hash)) + ", " +
                   std::to_string(sig.signature.size()) + " bytes>";
        }
        case ValueKind::sudi_data:
        case ValueKind::bytes:
            return "<" + std::to_string(e.value.size()) + " bytes>";
    }
    return "?";
}

}  // namespace

std::string describe(const Message& message) {
    char sid[16];
    std::snprintf(sid, sizeof sid, "%08x", message.session_id());
    std::string out(command_name(message.command()));
    out += " session=";
    out += sid;
    out += " {";
    bool first = true;
    for (const auto& e : message.elements()) {
        out += first ? " " : ", ";
        first = false;
        out += tag_name(e.tag);
        out += "=";
        out += describe_value(e);
    }
    out += first ? "}" : " }";
    return out;
}

}  // namespace capf::protocol
