#include "protocol/signed_file.hpp"

#include <array>
#include <string_view>

#include "protocol/error.hpp"

namespace capf::protocol {

namespace {

// Header tags of protocol/README.md, section 8.1 (and 28 of section 9).
enum HeaderTag : std::uint8_t {
    version_tag = 1,
    header_length_tag = 2,
    signer_info_tag = 3,
    signer_name_tag = 4,
    signer_serial_tag = 5,
    issuer_name_tag = 6,
    signature_info_tag = 7,
    hash_algorithm_tag = 8,
    signature_algorithm_info_tag = 9,
    signature_algorithm_tag = 10,
    modulus_size_tag = 11,
    signature_tag = 12,
    padding_tag = 13,
    file_name_tag = 14,
    timestamp_tag = 15,
    encryption_info_tag = 16,
    iv_info_tag = 17,
    iv_zero_tag = 18,
    iv_tag = 19,
    pad_count_tag = 20,
    key_info_tag = 21,
    key_zero_tag = 22,
    wrapped_key_bits_tag = 23,
    key_algorithm_tag = 24,
    wrapped_key_tag = 25,
    digest_algorithm_tag = 26,
    digest_tag = 27,
    signer_version_tag = 28,
};

// Record tags of section 9.
enum RecordTag : std::uint8_t {
    record_length_tag = 1,
    record_dns_name_tag = 2,
    record_subject_tag = 3,
    record_role_tag = 4,
    record_issuer_tag = 5,
    record_serial_tag = 6,
    record_public_key_tag = 7,
    record_signature_tag = 8,
    record_certificate_tag = 9,
};

constexpr std::array<std::size_t, 4> modulus_sizes = {64, 128, 256, 512};

[[noreturn]] void fail(Errc code, std::size_t offset, std::optional<std::uint8_t> tag,
                       std::string detail) {
    Error error;
    error.code = code;
    error.offset = offset;
    error.raw_tag = tag;
    error.detail = std::move(detail);
    throw ProtocolError(std::move(error));
}

// ---- writing ----

void put_u16(Bytes& out, std::size_t value) {
    out.push_back(static_cast<std::uint8_t>(value >> 8));
    out.push_back(static_cast<std::uint8_t>(value));
}

void put_element(Bytes& out, std::uint8_t tag, std::span<const std::uint8_t> value) {
    if (value.size() > 0xFFFF)
        fail(Errc::value_too_large, out.size(), tag,
             "value of " + std::to_string(value.size()) + " bytes does not fit a 16-bit length");
    out.push_back(tag);
    put_u16(out, value.size());
    out.insert(out.end(), value.begin(), value.end());
}

void put_u8_element(Bytes& out, std::uint8_t tag, std::uint8_t value) {
    const std::array<std::uint8_t, 1> v = {value};
    put_element(out, tag, v);
}

void put_u16_element(Bytes& out, std::uint8_t tag, std::size_t value) {
    const std::array<std::uint8_t, 2> v = {static_cast<std::uint8_t>(value >> 8),
                                           static_cast<std::uint8_t>(value)};
    put_element(out, tag, v);
}

void put_text_element(Bytes& out, std::uint8_t tag, const std::string& text) {
    if (text.find('\0') != std::string::npos)
        fail(Errc::text_embedded_nul, out.size(), tag, "text holds a NUL byte");
    Bytes value(text.begin(), text.end());
    value.push_back(0);
    put_element(out, tag, value);
}

std::uint8_t modulus_index(std::size_t modulus_bytes) {
    for (std::size_t i = 0; i < modulus_sizes.size(); ++i) {
        if (modulus_sizes[i] == modulus_bytes)
            return static_cast<std::uint8_t>(i);
    }
    fail(Errc::invalid_value, 0, modulus_size_tag,
         "modulus of " + std::to_string(modulus_bytes) +
             " bytes is none of 64, 128, 256, 512 (section 8.1, tag 11)");
}

Bytes encode_encryption(const FileEncryption& e) {
    if (e.iv.size() != 16)
        fail(Errc::wrong_element_length, 0, iv_tag,
             "AES IV of " + std::to_string(e.iv.size()) + " bytes, not 16");
    Bytes iv_info;
    put_u8_element(iv_info, iv_zero_tag, 0);
    put_element(iv_info, iv_tag, e.iv);
    put_u16_element(iv_info, pad_count_tag, e.pad_count);
    Bytes key_info;
    put_u8_element(key_info, key_zero_tag, 0);
    put_u16_element(key_info, wrapped_key_bits_tag, e.wrapped_key_bits);
    put_u8_element(key_info, key_algorithm_tag, 1);
    put_element(key_info, wrapped_key_tag, e.wrapped_key);
    Bytes info;
    put_element(info, iv_info_tag, iv_info);
    put_element(info, key_info_tag, key_info);
    Bytes out;
    put_element(out, encryption_info_tag, info);
    put_u8_element(out, digest_algorithm_tag, static_cast<std::uint8_t>(e.digest_hash));
    put_element(out, digest_tag, e.digest);
    return out;
}

// ---- reading ----

/// One `tag | length | value` element found at `offset` of the file.
struct TlvElement {
    std::uint8_t tag = 0;
    std::size_t offset = 0;  ///< of the tag byte
    std::span<const std::uint8_t> value;
};

/// Reads elements from a bounded region; every length is checked against
/// the region's end, never the file's.
class ElementReader {
  public:
    ElementReader(std::span<const std::uint8_t> region, std::size_t base_offset)
        : region_(region), base_(base_offset) {}

    bool at_end() const { return position_ >= region_.size(); }
    std::size_t offset() const { return base_ + position_; }
    std::uint8_t peek_tag() const { return region_[position_]; }
    void skip_padding_byte() { ++position_; }

    TlvElement next() {
        if (region_.size() - position_ < 3)
            fail(Errc::element_overrun, offset(), std::nullopt,
                 "element header needs 3 bytes, " + std::to_string(region_.size() - position_) +
                     " remain");
        TlvElement e;
        e.tag = region_[position_];
        e.offset = offset();
        const std::size_t length =
            (std::size_t{region_[position_ + 1]} << 8) | region_[position_ + 2];
        position_ += 3;
        if (length > region_.size() - position_)
            fail(Errc::element_overrun, e.offset, e.tag,
                 "element claims " + std::to_string(length) + " bytes, " +
                     std::to_string(region_.size() - position_) + " remain");
        e.value = region_.subspan(position_, length);
        position_ += length;
        return e;
    }

  private:
    std::span<const std::uint8_t> region_;
    std::size_t base_;
    std::size_t position_ = 0;
};

void expect_length(const TlvElement& e, std::size_t length) {
    if (e.value.size() != length)
        fail(Errc::wrong_element_length, e.offset, e.tag,
             "holds " + std::to_string(e.value.size()) + " bytes, not " + std::to_string(length));
}

std::uint8_t u8_of(const TlvElement& e) {
    expect_length(e, 1);
    return e.value[0];
}

std::uint16_t u16_of(const TlvElement& e) {
    expect_length(e, 2);
    return static_cast<std::uint16_t>((e.value[0] << 8) | e.value[1]);
}

std::string text_of(const TlvElement& e) {
    if (e.value.empty() || e.value.back() != 0)
        fail(Errc::text_not_terminated, e.offset, e.tag, "text without its trailing NUL");
    const std::string text(e.value.begin(), e.value.end() - 1);
    if (text.find('\0') != std::string::npos)
        fail(Errc::text_embedded_nul, e.offset, e.tag, "text holds a NUL before its end");
    return text;
}

Bytes bytes_of(const TlvElement& e) {
    return Bytes(e.value.begin(), e.value.end());
}

FileHash hash_of(const TlvElement& e) {
    const std::uint8_t id = u8_of(e);
    if (id != static_cast<std::uint8_t>(FileHash::sha1) &&
        id != static_cast<std::uint8_t>(FileHash::sha512))
        fail(Errc::invalid_value, e.offset, e.tag,
             "hash algorithm " + std::to_string(id) + " is neither 1 (SHA-1) nor 3 (SHA-512)");
    return static_cast<FileHash>(id);
}

/// The sub-elements of a container, by tag; a container holding the same
/// tag twice is refused. Fails with missing_element for any of `required`
/// that is absent.
template <std::size_t N>
std::array<std::optional<TlvElement>, 32> read_container(
    const TlvElement& container, const std::array<std::uint8_t, N>& required) {
    std::array<std::optional<TlvElement>, 32> found;
    ElementReader reader(container.value, container.offset + 3);
    while (!reader.at_end()) {
        const TlvElement e = reader.next();
        if (e.tag < found.size()) {
            if (found[e.tag])
                fail(Errc::invalid_value, e.offset, e.tag, "element appears twice");
            found[e.tag] = e;
        }
    }
    for (const std::uint8_t tag : required) {
        if (!found[tag])
            fail(Errc::missing_element, container.offset, tag,
                 "container " + std::to_string(container.tag) + " lacks element " +
                     std::to_string(tag));
    }
    return found;
}

void read_signer(const TlvElement& e, FileSigner& signer) {
    const auto found = read_container(
        e, std::array<std::uint8_t, 3>{signer_name_tag, issuer_name_tag, signer_serial_tag});
    signer.signer_name = text_of(*found[signer_name_tag]);
    signer.issuer_name = text_of(*found[issuer_name_tag]);
    signer.serial = bytes_of(*found[signer_serial_tag]);
}

void read_signature_info(const TlvElement& e, SignedFileHeader& header) {
    const auto found = read_container(
        e, std::array<std::uint8_t, 2>{hash_algorithm_tag, signature_algorithm_info_tag});
    header.hash = hash_of(*found[hash_algorithm_tag]);
    const auto algorithm =
        read_container(*found[signature_algorithm_info_tag],
                       std::array<std::uint8_t, 2>{signature_algorithm_tag, modulus_size_tag});
    const TlvElement& modulus = *algorithm[modulus_size_tag];
    const std::uint8_t index = u8_of(modulus);
    if (index >= modulus_sizes.size())
        fail(Errc::invalid_value, modulus.offset, modulus.tag,
             "modulus size index " + std::to_string(index) + " is outside 0..3");
    if (u8_of(*algorithm[signature_algorithm_tag]) != 0)
        fail(Errc::invalid_value, algorithm[signature_algorithm_tag]->offset,
             signature_algorithm_tag, "signature algorithm is not 0 (RSA)");
    header.signer.modulus_bytes = modulus_sizes[index];
}

void read_encryption_info(const TlvElement& e, FileEncryption& encryption) {
    const auto info = read_container(e, std::array<std::uint8_t, 2>{iv_info_tag, key_info_tag});
    const auto iv = read_container(*info[iv_info_tag],
                                   std::array<std::uint8_t, 3>{iv_zero_tag, iv_tag, pad_count_tag});
    expect_length(*iv[iv_tag], 16);
    encryption.iv = bytes_of(*iv[iv_tag]);
    encryption.pad_count = u16_of(*iv[pad_count_tag]);
    const auto key = read_container(
        *info[key_info_tag], std::array<std::uint8_t, 4>{key_zero_tag, wrapped_key_bits_tag,
                                                         key_algorithm_tag, wrapped_key_tag});
    encryption.wrapped_key_bits = u16_of(*key[wrapped_key_bits_tag]);
    if (u8_of(*key[key_algorithm_tag]) != 1)
        fail(Errc::invalid_value, key[key_algorithm_tag]->offset, key_algorithm_tag,
             "key algorithm is not 1 (RSA)");
    encryption.wrapped_key = bytes_of(*key[wrapped_key_tag]);
}

/// What parse_header found besides the typed header: where the signature
/// element sits, for signed_portion.
struct HeaderScan {
    SignedFileHeader header;
    std::size_t header_length = 0;
    std::size_t signature_offset = 0;  ///< of the tag byte of element 12
    std::size_t signature_size = 0;    ///< 3 + its value
};

/// Reads tags 1 and 2 at the start of the file: the version and the header
/// length, checked against the file's size.
std::size_t read_prologue(std::span<const std::uint8_t> file, ElementReader& reader,
                          SignedFileHeader& header) {
    const TlvElement version = reader.next();
    if (version.tag != version_tag)
        fail(Errc::missing_element, 0, version_tag, "a signed file starts with its version");
    expect_length(version, 2);
    header.major = version.value[0];
    header.minor = version.value[1];
    const TlvElement length = reader.next();
    if (length.tag != header_length_tag)
        fail(Errc::missing_element, length.offset, header_length_tag,
             "the version is followed by the header length");
    const std::size_t header_length = u16_of(length);
    if (header_length > file.size())
        fail(Errc::length_overrun, length.offset, header_length_tag,
             "header of " + std::to_string(header_length) + " bytes, file of " +
                 std::to_string(file.size()));
    if (header_length < reader.offset())
        fail(Errc::invalid_value, length.offset, header_length_tag,
             "header length " + std::to_string(header_length) + " ends inside its own element");
    return header_length;
}

void read_top_element(const TlvElement& e, HeaderScan& scan,
                      std::optional<std::uint8_t>& digest_hash, std::optional<Bytes>& digest) {
    SignedFileHeader& h = scan.header;
    switch (e.tag) {
        case signer_version_tag:
            expect_length(e, 2);
            h.signer_version = std::pair{e.value[0], e.value[1]};
            break;
        case signer_info_tag:
            read_signer(e, h.signer);
            break;
        case signature_info_tag:
            read_signature_info(e, h);
            break;
        case signature_tag:
            h.signature = bytes_of(e);
            scan.signature_offset = e.offset;
            scan.signature_size = 3 + e.value.size();
            break;
        case file_name_tag:
            h.file_name = text_of(e);
            break;
        case timestamp_tag:
            expect_length(e, 4);
            h.timestamp = (std::uint32_t{e.value[0]} << 24) | (std::uint32_t{e.value[1]} << 16) |
                          (std::uint32_t{e.value[2]} << 8) | e.value[3];
            break;
        case encryption_info_tag:
            h.encryption.emplace();
            read_encryption_info(e, *h.encryption);
            break;
        case digest_algorithm_tag:
            digest_hash = static_cast<std::uint8_t>(hash_of(e));
            break;
        case digest_tag:
            digest = bytes_of(e);
            break;
        default:
            // Elements the format may carry that capfd does not use: skipped,
            // their length already checked.
            break;
    }
}

HeaderScan scan_header(std::span<const std::uint8_t> file) {
    HeaderScan scan;
    ElementReader prologue(file, 0);
    scan.header_length = read_prologue(file, prologue, scan.header);
    ElementReader reader(file.first(scan.header_length), 0);
    reader.next();
    reader.next();
    std::array<bool, 256> seen{};
    std::optional<std::uint8_t> digest_hash;
    std::optional<Bytes> digest;
    while (!reader.at_end()) {
        if (reader.peek_tag() == padding_tag) {
            reader.skip_padding_byte();
            continue;
        }
        const TlvElement e = reader.next();
        if (seen[e.tag])
            fail(Errc::invalid_value, e.offset, e.tag, "header element appears twice");
        seen[e.tag] = true;
        read_top_element(e, scan, digest_hash, digest);
    }
    for (const std::uint8_t tag :
         {signer_info_tag, signature_info_tag, signature_tag, file_name_tag, timestamp_tag}) {
        if (!seen[tag])
            fail(Errc::missing_element, 0, tag, "header lacks element " + std::to_string(tag));
    }
    if (scan.header.signature.size() != scan.header.signer.modulus_bytes)
        fail(Errc::wrong_element_length, scan.signature_offset, signature_tag,
             "signature of " + std::to_string(scan.header.signature.size()) +
                 " bytes, modulus of " + std::to_string(scan.header.signer.modulus_bytes));
    if (scan.header.encryption) {
        if (!digest_hash || !digest)
            fail(Errc::missing_element, 0, digest_tag,
                 "an encrypted file needs its plaintext digest (tags 26, 27)");
        scan.header.encryption->digest_hash = static_cast<FileHash>(*digest_hash);
        scan.header.encryption->digest = std::move(*digest);
    }
    return scan;
}

}  // namespace

Bytes encode_header(const SignedFileHeader& h) {
    const std::uint8_t index = modulus_index(h.signer.modulus_bytes);
    if (!h.signature.empty() && h.signature.size() != h.signer.modulus_bytes)
        fail(Errc::wrong_element_length, 0, signature_tag,
             "signature of " + std::to_string(h.signature.size()) + " bytes, modulus of " +
                 std::to_string(h.signer.modulus_bytes));
    Bytes signer;
    put_text_element(signer, signer_name_tag, h.signer.signer_name);
    put_text_element(signer, issuer_name_tag, h.signer.issuer_name);
    put_element(signer, signer_serial_tag, h.signer.serial);
    Bytes algorithm;
    put_u8_element(algorithm, signature_algorithm_tag, 0);
    put_u8_element(algorithm, modulus_size_tag, index);
    Bytes signature_info;
    put_u8_element(signature_info, hash_algorithm_tag, static_cast<std::uint8_t>(h.hash));
    put_element(signature_info, signature_algorithm_info_tag, algorithm);

    // Everything after the header length; the length is known only at the end.
    Bytes rest;
    if (h.signer_version) {
        const std::array<std::uint8_t, 2> v = {h.signer_version->first, h.signer_version->second};
        put_element(rest, signer_version_tag, v);
    }
    put_element(rest, signer_info_tag, signer);
    put_element(rest, signature_info_tag, signature_info);
    put_element(rest, signature_tag,
                h.signature.empty() ? Bytes(h.signer.modulus_bytes, 0) : h.signature);
    put_text_element(rest, file_name_tag, h.file_name);
    const std::array<std::uint8_t, 4> time = {
        static_cast<std::uint8_t>(h.timestamp >> 24), static_cast<std::uint8_t>(h.timestamp >> 16),
        static_cast<std::uint8_t>(h.timestamp >> 8), static_cast<std::uint8_t>(h.timestamp)};
    put_element(rest, timestamp_tag, time);
    if (h.encryption) {
        const Bytes encryption = encode_encryption(*h.encryption);
        rest.insert(rest.end(), encryption.begin(), encryption.end());
    }
    const std::size_t prologue = 2 * (3 + 2);
    while ((prologue + rest.size()) % 4 != 0)
        rest.push_back(padding_tag);
    const std::size_t total = prologue + rest.size();
    if (total > 0xFFFF)
        fail(Errc::value_too_large, 0, header_length_tag,
             "header of " + std::to_string(total) + " bytes does not fit its 16-bit length");
    Bytes out;
    out.reserve(total);
    put_u16_element(out, version_tag, (std::size_t{h.major} << 8) | h.minor);
    put_u16_element(out, header_length_tag, total);
    out.insert(out.end(), rest.begin(), rest.end());
    return out;
}

Bytes signed_portion(std::span<const std::uint8_t> whole_file) {
    const HeaderScan scan = scan_header(whole_file);
    Bytes out(whole_file.begin(),
              whole_file.begin() + static_cast<std::ptrdiff_t>(scan.signature_offset));
    out.insert(out.end(),
               whole_file.begin() +
                   static_cast<std::ptrdiff_t>(scan.signature_offset + scan.signature_size),
               whole_file.end());
    return out;
}

ParsedSignedFile parse_signed_file(std::span<const std::uint8_t> whole_file) {
    HeaderScan scan = scan_header(whole_file);
    ParsedSignedFile parsed;
    parsed.header = std::move(scan.header);
    parsed.header_length = scan.header_length;
    parsed.payload.assign(whole_file.begin() + static_cast<std::ptrdiff_t>(scan.header_length),
                          whole_file.end());
    return parsed;
}

Bytes encode_itl_record(const ItlRecord& r) {
    Bytes body;
    put_text_element(body, record_subject_tag, r.subject_name);
    put_text_element(body, record_issuer_tag, r.issuer_name);
    put_element(body, record_serial_tag, r.serial);
    put_u16_element(body, record_role_tag, static_cast<std::uint16_t>(r.role));
    put_element(body, record_public_key_tag, r.public_key);
    put_element(body, record_signature_tag, r.signature);
    put_element(body, record_certificate_tag, r.certificate_der);
    const std::size_t total = 3 + 2 + body.size();
    if (total > 0xFFFF)
        fail(Errc::value_too_large, 0, record_length_tag,
             "ITL record of " + std::to_string(total) + " bytes does not fit its 16-bit length");
    Bytes out;
    out.reserve(total);
    put_u16_element(out, record_length_tag, total);
    out.insert(out.end(), body.begin(), body.end());
    return out;
}

std::vector<ItlRecord> parse_itl_records(std::span<const std::uint8_t> payload) {
    std::vector<ItlRecord> records;
    std::size_t position = 0;
    while (position < payload.size()) {
        ElementReader head(payload.subspan(position), position);
        const TlvElement length = head.next();
        if (length.tag != record_length_tag)
            fail(Errc::missing_element, position, record_length_tag,
                 "an ITL record starts with its length");
        const std::size_t record_length = u16_of(length);
        if (record_length < 5 || record_length > payload.size() - position)
            fail(Errc::element_overrun, position, record_length_tag,
                 "record claims " + std::to_string(record_length) + " bytes, " +
                     std::to_string(payload.size() - position) + " remain");
        TlvElement record;
        record.tag = 0;
        record.offset = position + 2;  // so that its body starts at position + 5
        record.value = payload.subspan(position + 5, record_length - 5);
        const auto found = read_container(
            record, std::array<std::uint8_t, 7>{
                        record_subject_tag, record_role_tag, record_issuer_tag, record_serial_tag,
                        record_public_key_tag, record_signature_tag, record_certificate_tag});
        ItlRecord r;
        r.subject_name = text_of(*found[record_subject_tag]);
        r.role = static_cast<ItlRole>(u16_of(*found[record_role_tag]));
        r.issuer_name = text_of(*found[record_issuer_tag]);
        r.serial = bytes_of(*found[record_serial_tag]);
        r.public_key = bytes_of(*found[record_public_key_tag]);
        r.signature = bytes_of(*found[record_signature_tag]);
        r.certificate_der = bytes_of(*found[record_certificate_tag]);
        records.push_back(std::move(r));
        position += record_length;
    }
    return records;
}

TrustList parse_trust_list(std::span<const std::uint8_t> whole_file) {
    ParsedSignedFile parsed = parse_signed_file(whole_file);
    if (parsed.header.major != 1 || parsed.header.minor != 2)
        fail(Errc::invalid_value, 0, version_tag,
             "version " + std::to_string(parsed.header.major) + "." +
                 std::to_string(parsed.header.minor) + ", an ITL or CTL is 1.2 (section 9)");
    if (!parsed.header.signer_version)
        fail(Errc::missing_element, 0, signer_version_tag,
             "an ITL or CTL header holds the signer version (tag 28, section 9)");
    TrustList list;
    list.records = parse_itl_records(parsed.payload);
    list.header = std::move(parsed.header);
    list.header_length = parsed.header_length;
    return list;
}

std::optional<std::size_t> signer_record(const TrustList& list) {
    for (std::size_t i = 0; i < list.records.size(); ++i) {
        const ItlRecord& r = list.records[i];
        if (r.role == ItlRole::sast && r.serial == list.header.signer.serial)
            return i;
    }
    return std::nullopt;
}

}  // namespace capf::protocol
