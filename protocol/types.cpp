#include "protocol/types.hpp"

namespace capf::protocol {

std::optional<Command> command_from_byte(std::uint8_t code) noexcept {
    if (code >= 1 && code <= all_commands.size()) {
        return static_cast<Command>(code);
    }
    return std::nullopt;
}

std::string_view command_name(Command command) noexcept {
    switch (command) {
        case Command::auth_request:
            return "AUTH_REQUEST";
        case Command::auth_response:
            return "AUTH_RESPONSE";
        case Command::key_gen_request:
            return "KEY_GEN_REQUEST";
        case Command::key_gen_response:
            return "KEY_GEN_RESPONSE";
        case Command::encrypt_response:
            return "ENCRYPT_RESPONSE";
        case Command::encrypt_request:
            return "ENCRYPT_REQUEST";
        case Command::decrypt_request:
            return "DECRYPT_REQUEST";
        case Command::decrypt_response:
            return "DECRYPT_RESPONSE";
        case Command::store_cert_request:
            return "STORE_CERT_REQUEST";
        case Command::store_cert_response:
            return "STORE_CERT_RESPONSE";
        case Command::fetch_cert_request:
            return "FETCH_CERT_REQUEST";
        case Command::fetch_cert_response:
            return "FETCH_CERT_RESPONSE";
        case Command::delete_cert_request:
            return "DELETE_CERT_REQUEST";
        case Command::delete_cert_response:
            return "DELETE_CERT_RESPONSE";
        case Command::end_session:
            return "END_SESSION";
        case Command::retry_later:
            return "RETRY_LATER";
        case Command::request_in_progress:
            return "REQUEST_IN_PROGRESS";
        case Command::status_request:
            return "STATUS_REQUEST";
        case Command::status_response:
            return "STATUS_RESPONSE";
        case Command::abort_request:
            return "ABORT_REQUEST";
        case Command::abort_response:
            return "ABORT_RESPONSE";
        case Command::sign_cert_request:
            return "SIGN_CERT_REQUEST";
        case Command::sign_cert_response:
            return "SIGN_CERT_RESPONSE";
    }
    return "UNKNOWN_COMMAND";
}

std::optional<Tag> tag_from_byte(std::uint8_t code) noexcept {
    for (Tag tag : all_tags) {
        if (static_cast<std::uint8_t>(tag) == code) {
            return tag;
        }
    }
    return std::nullopt;
}

std::string_view tag_name(Tag tag) noexcept {
    switch (tag) {
        case Tag::reason:
            return "REASON";
        case Tag::reason_info:
            return "REASON_INFO";
        case Tag::cert_type:
            return "CERT_TYPE";
        case Tag::certificate:
            return "CERTIFICATE";
        case Tag::cert_id:
            return "CERT_ID";
        case Tag::signed_data:
            return "SIGNED_DATA";
        case Tag::version:
            return "VERSION";
        case Tag::auth_type:
            return "AUTH_TYPE";
        case Tag::public_key:
            return "PUBLIC_KEY";
        case Tag::key_size:
            return "KEY_SIZE";
        case Tag::password:
            return "PASSWORD";
        case Tag::retry_delay:
            return "RETRY_DELAY";
        case Tag::device_name:
            return "DEVICE_NAME";
        case Tag::sudi_data:
            return "SUDI_DATA";
        case Tag::key_type:
            return "KEY_TYPE";
        case Tag::curve:
            return "CURVE";
        case Tag::digest_type:
            return "DIGEST_TYPE";
        case Tag::sha2_signed_data:
            return "SHA2_SIGNED_DATA";
    }
    return "UNKNOWN_TAG";
}

}  // namespace capf::protocol
