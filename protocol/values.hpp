// Element values: which C++ type each tag carries, and the encoding of the
// structured ones (CERTIFICATE, SHA2_SIGNED_DATA, SUDI_DATA, text).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <type_traits>

#include "protocol/error.hpp"
#include "protocol/types.hpp"

namespace capf::protocol {

/// CERTIFICATE: `0x01 | length (2) = DER length + 2 | 0x00 | cert type | DER`.
struct CertificateValue {
    CertType type = CertType::lsc;
    Bytes der;
    friend bool operator==(const CertificateValue&, const CertificateValue&) = default;
};

/// SHA2_SIGNED_DATA: `hash id (1) | length (2) | signature`.
struct Sha2SignedData {
    HashId hash = HashId::sha512;
    Bytes signature;
    friend bool operator==(const Sha2SignedData&, const Sha2SignedData&) = default;
};

/// SUDI_DATA (protocol/README.md, section 5.3): `0x00 | length (2) | DER |
/// 0x01 | length (2) | SHA-1 signature | hash id (1) | length (2) | SHA-2
/// signature`. The codec keeps whatever hash id arrived; ca/ insists on SHA-512.
struct SudiData {
    Bytes certificate_der;
    Bytes sha1_signature;
    HashId sha2_hash = HashId::sha512;
    Bytes sha2_signature;
    friend bool operator==(const SudiData&, const SudiData&) = default;
};

/// How a tag's value is laid out on the wire.
enum class ValueKind {
    u8,           ///< exactly 1 byte
    u16,          ///< exactly 2 bytes, big-endian
    text,         ///< NUL-terminated text
    bytes,        ///< opaque, any length
    certificate,  ///< CertificateValue
    sha2_signed_data,
    sudi_data,
};

constexpr ValueKind value_kind(Tag tag) noexcept {
    switch (tag) {
        case Tag::reason:
        case Tag::cert_type:
        case Tag::version:
        case Tag::auth_type:
        case Tag::key_type:
        case Tag::curve:
            return ValueKind::u8;
        case Tag::key_size:
            return ValueKind::u16;
        case Tag::reason_info:
        case Tag::password:
        case Tag::device_name:
            return ValueKind::text;
        case Tag::certificate:
            return ValueKind::certificate;
        case Tag::sha2_signed_data:
            return ValueKind::sha2_signed_data;
        case Tag::sudi_data:
            return ValueKind::sudi_data;
        case Tag::cert_id:  // layout not publicly known
        case Tag::signed_data:
        case Tag::public_key:
        case Tag::retry_delay:  // size not publicly known
        case Tag::digest_type:  // not used by known peers
            return ValueKind::bytes;
    }
    return ValueKind::bytes;
}

/// The C++ type of a tag's value: `element_type_t<Tag::key_size>` is uint16_t.
template <Tag T>
struct ElementType {
    using type = Bytes;
};
template <>
struct ElementType<Tag::reason> {
    using type = Reason;
};
template <>
struct ElementType<Tag::reason_info> {
    using type = std::string;
};
template <>
struct ElementType<Tag::cert_type> {
    using type = CertType;
};
template <>
struct ElementType<Tag::certificate> {
    using type = CertificateValue;
};
template <>
struct ElementType<Tag::version> {
    using type = std::uint8_t;
};
template <>
struct ElementType<Tag::auth_type> {
    using type = AuthType;
};
template <>
struct ElementType<Tag::key_size> {
    using type = std::uint16_t;
};
template <>
struct ElementType<Tag::password> {
    using type = std::string;
};
template <>
struct ElementType<Tag::device_name> {
    using type = std::string;
};
template <>
struct ElementType<Tag::sudi_data> {
    using type = SudiData;
};
template <>
struct ElementType<Tag::key_type> {
    using type = KeyType;
};
template <>
struct ElementType<Tag::curve> {
    using type = Curve;
};
template <>
struct ElementType<Tag::sha2_signed_data> {
    using type = Sha2SignedData;
};

template <Tag T>
using element_type_t = typename ElementType<T>::type;

/// Checks a value against its tag's layout. Returns nothing when it is valid,
/// otherwise the error (offset relative to the value's first byte).
std::optional<Error> validate_value(Tag tag, std::span<const std::uint8_t> value);

namespace detail {

// Encoders throw ProtocolError(value_too_large or text_*) for values that
// cannot be put on the wire. Decoders assume a value that passed
// validate_value for its tag.
Bytes encode_u8(std::uint8_t v);
Bytes encode_u16(std::uint16_t v);
Bytes encode_text(std::string_view text, Tag tag);
Bytes encode_certificate(const CertificateValue& v);
Bytes encode_sha2_signed_data(const Sha2SignedData& v);
Bytes encode_sudi_data(const SudiData& v);

std::uint16_t decode_u16(std::span<const std::uint8_t> value);
std::string decode_text(std::span<const std::uint8_t> value);
CertificateValue decode_certificate(std::span<const std::uint8_t> value);
Sha2SignedData decode_sha2_signed_data(std::span<const std::uint8_t> value);
SudiData decode_sudi_data(std::span<const std::uint8_t> value);

template <Tag T>
Bytes encode_value(const element_type_t<T>& v) {
    using V = element_type_t<T>;
    if constexpr (std::is_enum_v<V>) {
        return encode_u8(static_cast<std::uint8_t>(v));
    } else if constexpr (std::is_same_v<V, std::uint8_t>) {
        return encode_u8(v);
    } else if constexpr (std::is_same_v<V, std::uint16_t>) {
        return encode_u16(v);
    } else if constexpr (std::is_same_v<V, std::string>) {
        return encode_text(v, T);
    } else if constexpr (std::is_same_v<V, CertificateValue>) {
        return encode_certificate(v);
    } else if constexpr (std::is_same_v<V, Sha2SignedData>) {
        return encode_sha2_signed_data(v);
    } else if constexpr (std::is_same_v<V, SudiData>) {
        return encode_sudi_data(v);
    } else {
        static_assert(std::is_same_v<V, Bytes>);
        return v;
    }
}

template <Tag T>
element_type_t<T> decode_value(std::span<const std::uint8_t> value) {
    using V = element_type_t<T>;
    if constexpr (std::is_enum_v<V>) {
        return static_cast<V>(value[0]);
    } else if constexpr (std::is_same_v<V, std::uint8_t>) {
        return value[0];
    } else if constexpr (std::is_same_v<V, std::uint16_t>) {
        return decode_u16(value);
    } else if constexpr (std::is_same_v<V, std::string>) {
        return decode_text(value);
    } else if constexpr (std::is_same_v<V, CertificateValue>) {
        return decode_certificate(value);
    } else if constexpr (std::is_same_v<V, Sha2SignedData>) {
        return decode_sha2_signed_data(value);
    } else if constexpr (std::is_same_v<V, SudiData>) {
        return decode_sudi_data(value);
    } else {
        static_assert(std::is_same_v<V, Bytes>);
        return Bytes(value.begin(), value.end());
    }
}

}  // namespace detail
}  // namespace capf::protocol
