// The vocabulary of the CAPF wire protocol, version 3 (protocol/README.md,
// sections 2-4): commands, element tags and the small enumerated values.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

namespace capf::protocol {

using Bytes = std::vector<std::uint8_t>;

inline constexpr std::uint8_t protocol_id = 0x55;
inline constexpr std::uint8_t protocol_version = 3;
/// protocol id (1) + command (1) + session id (4) + body length (2)
inline constexpr std::size_t header_size = 8;
/// tag (1) + length (2)
inline constexpr std::size_t element_header_size = 3;
inline constexpr std::size_t max_body_size = 0xFFFF;
inline constexpr std::size_t max_element_value_size = 0xFFFF;

enum class Command : std::uint8_t {
    auth_request = 1,
    auth_response = 2,
    key_gen_request = 3,
    key_gen_response = 4,
    encrypt_response = 5,
    encrypt_request = 6,
    decrypt_request = 7,
    decrypt_response = 8,
    store_cert_request = 9,
    store_cert_response = 10,
    fetch_cert_request = 11,
    fetch_cert_response = 12,
    delete_cert_request = 13,
    delete_cert_response = 14,
    end_session = 15,
    retry_later = 16,
    request_in_progress = 17,
    status_request = 18,
    status_response = 19,
    abort_request = 20,
    abort_response = 21,
    sign_cert_request = 22,
    sign_cert_response = 23,
};

inline constexpr std::array<Command, 23> all_commands = {
    Command::auth_request,        Command::auth_response,        Command::key_gen_request,
    Command::key_gen_response,    Command::encrypt_response,     Command::encrypt_request,
    Command::decrypt_request,     Command::decrypt_response,     Command::store_cert_request,
    Command::store_cert_response, Command::fetch_cert_request,   Command::fetch_cert_response,
    Command::delete_cert_request, Command::delete_cert_response, Command::end_session,
    Command::retry_later,         Command::request_in_progress,  Command::status_request,
    Command::status_response,     Command::abort_request,        Command::abort_response,
    Command::sign_cert_request,   Command::sign_cert_response,
};

/// The command for a wire byte, or nothing for a code the protocol lacks.
std::optional<Command> command_from_byte(std::uint8_t code) noexcept;
/// The name protocol/README.md gives it (section 3), e.g. "AUTH_REQUEST".
std::string_view command_name(Command command) noexcept;

enum class Tag : std::uint8_t {
    reason = 1,
    reason_info = 2,
    cert_type = 3,
    certificate = 4,
    cert_id = 5,
    signed_data = 6,
    version = 7,
    auth_type = 8,
    public_key = 9,
    key_size = 10,
    password = 11,
    retry_delay = 12,
    device_name = 13,
    sudi_data = 16,
    key_type = 17,
    curve = 18,
    digest_type = 19,
    sha2_signed_data = 20,
};

inline constexpr std::array<Tag, 18> all_tags = {
    Tag::reason,      Tag::reason_info, Tag::cert_type,        Tag::certificate, Tag::cert_id,
    Tag::signed_data, Tag::version,     Tag::auth_type,        Tag::public_key,  Tag::key_size,
    Tag::password,    Tag::retry_delay, Tag::device_name,      Tag::sudi_data,   Tag::key_type,
    Tag::curve,       Tag::digest_type, Tag::sha2_signed_data,
};

/// The tag for a wire byte, or nothing for a tag the protocol lacks.
std::optional<Tag> tag_from_byte(std::uint8_t code) noexcept;
/// The name protocol/README.md gives it (section 4), e.g. "DEVICE_NAME".
std::string_view tag_name(Tag tag) noexcept;

// The enumerations below have a uint8_t underlying type so that any byte a
// peer sends is representable: unknown values are kept (and logged as
// numbers) rather than being undefined behaviour.

/// Wire reason codes (protocol/README.md, section 6). Only these are publicly known.
enum class Reason : std::uint8_t {
    no_action = 0,
    success = 1,
    invalid_element = 7,
    unknown_device = 9,
};

enum class CertType : std::uint8_t { lsc = 1, mic = 2 };

enum class AuthType : std::uint8_t {
    none = 0,
    auth_string = 1,
    null_string = 2,
    lsc = 3,
    mic = 4,
};

enum class KeyType : std::uint8_t { rsa = 0, ec = 1 };

enum class Curve : std::uint8_t { p256 = 0, p384 = 1, p521 = 2 };

/// Hash ids of SHA2_SIGNED_DATA and the SUDI structure.
enum class HashId : std::uint8_t { sha1 = 1, sha256 = 2, sha512 = 3 };

}  // namespace capf::protocol
