// One CAPF message: command, session id and an ordered list of elements.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "protocol/error.hpp"
#include "protocol/types.hpp"
#include "protocol/values.hpp"

namespace capf::protocol {

/// An element as it is on the wire. Its value has always passed
/// validate_value() for its tag: Message admits no other.
struct Element {
    Tag tag{};
    Bytes value;
    friend bool operator==(const Element&, const Element&) = default;
};

/// A CAPF message. Elements keep their wire order, so encoding a decoded
/// message reproduces its bytes exactly. protocol/README.md does not forbid
/// repeating an element; the typed accessors read the first occurrence and
/// count() tells the caller whether there were more.
class Message {
  public:
    Message(Command command, std::uint32_t session_id)
        : command_(command), session_id_(session_id) {}

    Command command() const noexcept { return command_; }
    std::uint32_t session_id() const noexcept { return session_id_; }
    const std::vector<Element>& elements() const noexcept { return elements_; }

    /// Appends a typed element. Throws ProtocolError when the value cannot be
    /// encoded (too long for its 16-bit length, or text the peer would reject).
    template <Tag T>
    Message& add(const element_type_t<T>& value) {
        return push(T, detail::encode_value<T>(value));
    }

    /// Appends an element from its raw value after checking it against the
    /// tag's layout; throws ProtocolError when it does not fit.
    Message& add_raw(Tag tag, std::span<const std::uint8_t> value);

    bool has(Tag tag) const noexcept { return raw(tag) != nullptr; }
    std::size_t count(Tag tag) const noexcept;
    /// The first element with this tag, or null. The pointer lives as long as
    /// the message is not modified.
    const Element* raw(Tag tag) const noexcept;

    /// The first value with this tag, or nothing when the element is absent.
    template <Tag T>
    std::optional<element_type_t<T>> find() const {
        const Element* e = raw(T);
        if (e == nullptr) {
            return std::nullopt;
        }
        return detail::decode_value<T>(e->value);
    }

    /// The first value with this tag; throws ProtocolError(missing_element)
    /// naming the tag and this message's command when it is absent.
    template <Tag T>
    element_type_t<T> get() const {
        const Element* e = raw(T);
        if (e == nullptr) {
            throw_missing(T);
        }
        return detail::decode_value<T>(e->value);
    }

    /// Every value with this tag, in wire order.
    template <Tag T>
    std::vector<element_type_t<T>> find_all() const {
        std::vector<element_type_t<T>> out;
        for (const auto& e : elements_) {
            if (e.tag == T)
                out.push_back(detail::decode_value<T>(e.value));
        }
        return out;
    }

    /// Size of the body (all elements with their headers).
    std::size_t body_size() const noexcept;

    friend bool operator==(const Message&, const Message&) = default;

  private:
    [[noreturn]] void throw_missing(Tag tag) const;
    /// Appends an encoded value after checking it fits its 16-bit length.
    Message& push(Tag tag, Bytes value);

    Command command_;
    std::uint32_t session_id_;
    std::vector<Element> elements_;
};

/// The whole message, header and body, in one contiguous buffer (phones stall
/// on a header split from its body). Throws ProtocolError(value_too_large)
/// when the body exceeds 65535 bytes.
Bytes encode(const Message& message);

/// A one-line description for logs and test failures. PASSWORD values are
/// never shown, only their length; certificates and keys are summarised.
std::string describe(const Message& message);

}  // namespace capf::protocol
