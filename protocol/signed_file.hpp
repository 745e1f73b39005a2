// The files a phone downloads from TFTP beside its configuration: the signed
// header of .sgn and .enc.sgn files (protocol/README.md, section 8.1) and the
// records of ITLFile.tlv (section 9), as bytes in and typed values out. No
// cryptography here: ca/tftp_files signs, encrypts and verifies.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "protocol/types.hpp"

namespace capf::protocol {

enum class FileHash : std::uint8_t { sha1 = 1, sha512 = 3 };

/// Who signed: the TFTP-role certificate.
struct FileSigner {
    std::string signer_name;  ///< RFC 4514 style, comma-joined
    Bytes serial;             ///< minimal big-endian
    std::string issuer_name;
    std::size_t modulus_bytes = 256;  ///< 64, 128, 256 or 512
};

/// Tags 16 and 26/27 of an .enc.sgn.
struct FileEncryption {
    Bytes iv;  ///< 16 bytes
    std::uint16_t pad_count = 0;
    std::uint16_t wrapped_key_bits = 0;
    Bytes wrapped_key;
    FileHash digest_hash = FileHash::sha512;
    Bytes digest;  ///< of the unpadded plaintext
};

struct SignedFileHeader {
    std::uint8_t major = 1;  ///< 1.0 .sgn, 2.0 .enc.sgn, 1.2 ITL
    std::uint8_t minor = 0;
    std::optional<std::pair<std::uint8_t, std::uint8_t>> signer_version;  ///< ITL only (tag 28)
    FileSigner signer;
    FileHash hash = FileHash::sha1;
    Bytes signature;  ///< modulus_bytes long; zeros while the file is being signed
    std::string file_name;
    std::uint32_t timestamp = 0;
    std::optional<FileEncryption> encryption;  ///< .enc.sgn only
};

/// The header bytes in the order of 8.1 (or 9 for an ITL), padded with
/// tag-13 bytes to a multiple of 4; the header-length element holds the final
/// size, signature element included.
Bytes encode_header(const SignedFileHeader& header);

/// The bytes that are signed: the whole file with the signature element
/// (tag, length and value) cut out. Throws ProtocolError when the header
/// does not parse.
Bytes signed_portion(std::span<const std::uint8_t> whole_file);

struct ParsedSignedFile {
    SignedFileHeader header;
    std::size_t header_length = 0;
    Bytes payload;
};

/// Parses a whole file. Throws ProtocolError for malformed input; every
/// length is bounds-checked.
ParsedSignedFile parse_signed_file(std::span<const std::uint8_t> whole_file);

enum class ItlRole : std::uint16_t {
    sast = 0,
    ccm = 1,
    ccm_tftp = 2,
    tftp = 3,
    capf = 4,
    app_server = 7,
    tvs = 21,
};

struct ItlRecord {
    std::string subject_name;
    ItlRole role = ItlRole::sast;
    std::string issuer_name;
    Bytes serial;
    Bytes public_key;  ///< RSA: PKCS#1 RSAPublicKey DER; EC: the uncompressed point
    Bytes signature;   ///< the certificate's own signature bytes
    Bytes certificate_der;
};

/// One record, elements in the order 1, 3, 5, 6, 4, 7, 8, 9.
Bytes encode_itl_record(const ItlRecord& record);
/// The records of an ITL payload. Throws ProtocolError for malformed input.
std::vector<ItlRecord> parse_itl_records(std::span<const std::uint8_t> payload);

/// The file names of section 9 and 10.
inline constexpr const char* itl_file_name = "ITLFile.tlv";
inline constexpr const char* ctl_file_name = "CTLFile.tlv";

/// An ITL or CTL as a phone reads it (sections 9 and 10): the header, with
/// the signer's name, issuer and serial, and the records in file order.
struct TrustList {
    SignedFileHeader header;
    std::size_t header_length = 0;
    std::vector<ItlRecord> records;
};

/// Parses a whole ITL or CTL. Throws ProtocolError: what parse_signed_file
/// and parse_itl_records throw, and invalid_value when the version is not
/// 1.2 or the signer version (tag 28) is missing. A file cut at a record
/// boundary is a shorter list, not an error: no length covers the records.
/// The returned values are copies; `whole_file` need not outlive them.
TrustList parse_trust_list(std::span<const std::uint8_t> whole_file);

/// The index of the record a reader verifies the file with: role SAST and
/// the header's signer serial (section 9). Nothing when there is none.
std::optional<std::size_t> signer_record(const TrustList& list);

}  // namespace capf::protocol
