#include "protocol/values.hpp"

#include <string>

namespace capf::protocol {
namespace {

Error value_error(Errc code, Tag tag, std::size_t offset, std::string detail) {
    Error e;
    e.code = code;
    e.tag = tag;
    e.offset = offset;
    e.detail = std::move(detail);
    return e;
}

std::uint16_t read_u16(std::span<const std::uint8_t> b, std::size_t at) {
    return static_cast<std::uint16_t>((b[at] << 8) | b[at + 1]);
}

void append_u16(Bytes& out, std::size_t v) {
    out.push_back(static_cast<std::uint8_t>(v >> 8));
    out.push_back(static_cast<std::uint8_t>(v & 0xFF));
}

void append(Bytes& out, std::span<const std::uint8_t> b) {
    out.insert(out.end(), b.begin(), b.end());
}

/// Reads `length (2) | bytes` at `at`, advancing it. Returns false when the
/// length field or the bytes run past the end.
bool read_length_prefixed(std::span<const std::uint8_t> b, std::size_t& at,
                          std::span<const std::uint8_t>& out) {
    if (b.size() - at < 2) {
        return false;
    }
    const std::size_t n = read_u16(b, at);
    if (b.size() - at - 2 < n) {
        return false;
    }
    out = b.subspan(at + 2, n);
    at += 2 + n;
    return true;
}

std::optional<Error> validate_text(Tag tag, std::span<const std::uint8_t> v) {
    if (v.empty() || v.back() != 0) {
        return value_error(Errc::text_not_terminated, tag, v.size(),
                           "text must end with a NUL byte");
    }
    for (std::size_t i = 0; i + 1 < v.size(); ++i) {
        const std::uint8_t c = v[i];
        if (c == 0) {
            return value_error(Errc::text_embedded_nul, tag, i,
                               "NUL at byte " + std::to_string(i) + " before the end of the text");
        }
        // Device names are looked up and logged: printable ASCII only.
        const bool ascii_only = tag == Tag::device_name;
        if (c < 0x20 || c == 0x7F || (ascii_only && c > 0x7E)) {
            return value_error(
                Errc::text_not_printable, tag, i,
                "byte 0x" + std::to_string(c) + " at " + std::to_string(i) + " is not printable");
        }
    }
    return std::nullopt;
}

std::optional<Error> validate_certificate(std::span<const std::uint8_t> v) {
    const Tag tag = Tag::certificate;
    if (v.size() < 6) {
        return value_error(Errc::malformed_certificate, tag, 0,
                           "value of " + std::to_string(v.size()) +
                               " bytes is shorter than the 5-byte wrapper plus a certificate");
    }
    if (v[0] != 0x01) {
        return value_error(Errc::malformed_certificate, tag, 0, "wrapper must start with 0x01");
    }
    const std::size_t inner = read_u16(v, 1);
    if (inner != v.size() - 3) {
        return value_error(Errc::malformed_certificate, tag, 1,
                           "wrapper length " + std::to_string(inner) + " but " +
                               std::to_string(v.size() - 3) + " bytes follow it");
    }
    if (v[3] != 0x00) {
        return value_error(Errc::malformed_certificate, tag, 3,
                           "byte 3 of the wrapper must be 0x00");
    }
    return std::nullopt;
}

std::optional<Error> validate_sha2(std::span<const std::uint8_t> v) {
    const Tag tag = Tag::sha2_signed_data;
    std::size_t at = 1;
    std::span<const std::uint8_t> sig;
    if (v.empty() || !read_length_prefixed(v, at, sig)) {
        return value_error(Errc::malformed_sha2_signed_data, tag, 0,
                           "expected hash id, 2-byte length and that many signature bytes");
    }
    if (at != v.size()) {
        return value_error(Errc::malformed_sha2_signed_data, tag, at,
                           std::to_string(v.size() - at) + " bytes after the signature");
    }
    return std::nullopt;
}

struct SudiParts {
    std::span<const std::uint8_t> certificate;
    std::span<const std::uint8_t> sha1_signature;
    std::uint8_t hash_id = 0;
    std::span<const std::uint8_t> sha2_signature;
};

std::optional<Error> parse_sudi(std::span<const std::uint8_t> v, SudiParts& parts) {
    const Tag tag = Tag::sudi_data;
    std::size_t at = 0;
    auto fail = [&](std::string what) {
        return value_error(Errc::malformed_sudi_data, tag, at, std::move(what));
    };
    if (v.size() - at < 1 || v[at] != 0x00) {
        return fail("expected 0x00 before the SUDI certificate");
    }
    ++at;
    if (!read_length_prefixed(v, at, parts.certificate)) {
        return fail("SUDI certificate length runs past the element");
    }
    if (v.size() - at < 1 || v[at] != 0x01) {
        return fail("expected 0x01 before the SHA-1 signature");
    }
    ++at;
    if (!read_length_prefixed(v, at, parts.sha1_signature)) {
        return fail("SHA-1 signature length runs past the element");
    }
    if (v.size() - at < 1) {
        return fail("missing hash id of the SHA-2 signature");
    }
    parts.hash_id = v[at++];
    if (!read_length_prefixed(v, at, parts.sha2_signature)) {
        return fail("SHA-2 signature length runs past the element");
    }
    if (at != v.size()) {
        return fail(std::to_string(v.size() - at) + " bytes after the SHA-2 signature");
    }
    return std::nullopt;
}

void check_fits_u16(std::size_t n, Tag tag, const char* what) {
    if (n > 0xFFFF) {
        throw ProtocolError(value_error(Errc::value_too_large, tag, 0,
                                        std::string(what) + " of " + std::to_string(n) +
                                            " bytes does not fit a 16-bit length"));
    }
}

}  // namespace

std::optional<Error> validate_value(Tag tag, std::span<const std::uint8_t> value) {
    switch (value_kind(tag)) {
        case ValueKind::u8:
        case ValueKind::u16: {
            const std::size_t want = value_kind(tag) == ValueKind::u8 ? 1 : 2;
            if (value.size() != want) {
                return value_error(
                    Errc::wrong_element_length, tag, 0,
                    "length " + std::to_string(value.size()) + ", must be " + std::to_string(want));
            }
            return std::nullopt;
        }
        case ValueKind::text:
            return validate_text(tag, value);
        case ValueKind::certificate:
            return validate_certificate(value);
        case ValueKind::sha2_signed_data:
            return validate_sha2(value);
        case ValueKind::sudi_data: {
            SudiParts parts;
            return parse_sudi(value, parts);
        }
        case ValueKind::bytes:
            return std::nullopt;
    }
    return std::nullopt;
}

namespace detail {

Bytes encode_u8(std::uint8_t v) {
    return Bytes{v};
}

Bytes encode_u16(std::uint16_t v) {
    Bytes out;
    append_u16(out, v);
    return out;
}

Bytes encode_text(std::string_view text, Tag tag) {
    Bytes out(text.begin(), text.end());
    out.push_back(0);
    if (auto err = validate_text(tag, out)) {
        throw ProtocolError(std::move(*err));
    }
    check_fits_u16(out.size(), tag, "text");
    return out;
}

Bytes encode_certificate(const CertificateValue& v) {
    check_fits_u16(v.der.size() + 5, Tag::certificate, "certificate");
    if (v.der.empty()) {
        throw ProtocolError(value_error(Errc::malformed_certificate, Tag::certificate, 0,
                                        "certificate DER is empty"));
    }
    Bytes out;
    out.reserve(v.der.size() + 5);
    out.push_back(0x01);
    append_u16(out, v.der.size() + 2);
    out.push_back(0x00);
    out.push_back(static_cast<std::uint8_t>(v.type));
    append(out, v.der);
    return out;
}

Bytes encode_sha2_signed_data(const Sha2SignedData& v) {
    check_fits_u16(v.signature.size() + 3, Tag::sha2_signed_data, "signature");
    Bytes out;
    out.push_back(static_cast<std::uint8_t>(v.hash));
    append_u16(out, v.signature.size());
    append(out, v.signature);
    return out;
}

Bytes encode_sudi_data(const SudiData& v) {
    check_fits_u16(v.certificate_der.size() + v.sha1_signature.size() + v.sha2_signature.size() + 9,
                   Tag::sudi_data, "SUDI data");
    Bytes out;
    out.push_back(0x00);
    append_u16(out, v.certificate_der.size());
    append(out, v.certificate_der);
    out.push_back(0x01);
    append_u16(out, v.sha1_signature.size());
    append(out, v.sha1_signature);
    out.push_back(static_cast<std::uint8_t>(v.sha2_hash));
    append_u16(out, v.sha2_signature.size());
    append(out, v.sha2_signature);
    return out;
}

std::uint16_t decode_u16(std::span<const std::uint8_t> value) {
    return read_u16(value, 0);
}

std::string decode_text(std::span<const std::uint8_t> value) {
    return std::string(value.begin(), value.end() - 1);
}

CertificateValue decode_certificate(std::span<const std::uint8_t> value) {
    return CertificateValue{static_cast<CertType>(value[4]), Bytes(value.begin() + 5, value.end())};
}

Sha2SignedData decode_sha2_signed_data(std::span<const std::uint8_t> value) {
    return Sha2SignedData{static_cast<HashId>(value[0]), Bytes(value.begin() + 3, value.end())};
}

SudiData decode_sudi_data(std::span<const std::uint8_t> value) {
    SudiParts parts;
    parse_sudi(value, parts);
    return SudiData{Bytes(parts.certificate.begin(), parts.certificate.end()),
                    Bytes(parts.sha1_signature.begin(), parts.sha1_signature.end()),
                    static_cast<HashId>(parts.hash_id),
                    Bytes(parts.sha2_signature.begin(), parts.sha2_signature.end())};
}

}  // namespace detail
}  // namespace capf::protocol
