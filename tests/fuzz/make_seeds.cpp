// Writes the libFuzzer seed corpus: one realistic message per command, plus
// a whole install dialogue as one stream. Usage: capf_make_fuzz_seeds DIR
#include <cstdio>
#include <string>

#include "protocol/message.hpp"
#include "tests/fuzz/seed_file.hpp"

using namespace capf::protocol;

namespace {

constexpr std::uint32_t sid = 0x5EED0001;

Message sample(Command c) {
    Message m(c, sid);
    switch (c) {
        case Command::auth_request:
            m.add<Tag::version>(protocol_version).add<Tag::auth_type>(AuthType::none);
            break;
        case Command::auth_response:
            m.add<Tag::version>(3)
                .add<Tag::device_name>("SEP001122334455")
                .add<Tag::password>("")
                .add<Tag::certificate>(CertificateValue{CertType::lsc, Bytes(64, 0x30)})
                .add<Tag::signed_data>(Bytes(32, 0x11))
                .add<Tag::sha2_signed_data>(Sha2SignedData{HashId::sha512, Bytes(32, 0x22)})
                .add<Tag::sudi_data>(
                    SudiData{Bytes(16, 0x30), Bytes(8, 3), HashId::sha512, Bytes(8, 4)})
                .add<Tag::reason>(Reason::success);
            break;
        case Command::key_gen_request:
            m.add<Tag::key_type>(KeyType::rsa).add<Tag::key_size>(2048);
            break;
        case Command::key_gen_response:
            m.add<Tag::public_key>(Bytes(48, 0x30)).add<Tag::reason>(Reason::success);
            break;
        case Command::store_cert_request:
            m.add<Tag::cert_type>(CertType::lsc)
                .add<Tag::certificate>(CertificateValue{CertType::lsc, Bytes(64, 0x30)});
            break;
        case Command::store_cert_response:
        case Command::delete_cert_response:
        case Command::end_session:
            m.add<Tag::reason>(Reason::success);
            break;
        case Command::fetch_cert_response:
            m.add<Tag::reason>(Reason::success)
                .add<Tag::certificate>(CertificateValue{CertType::mic, Bytes(64, 0x30)});
            break;
        case Command::retry_later:
            m.add<Tag::retry_delay>(Bytes{0, 30}).add<Tag::reason_info>("busy");
            break;
        case Command::status_response:
        case Command::abort_response:
        case Command::sign_cert_response:
            m.add<Tag::reason>(Reason::no_action).add<Tag::cert_id>(Bytes{1, 2});
            break;
        case Command::encrypt_request:
        case Command::decrypt_request:
        case Command::sign_cert_request:
            m.add<Tag::digest_type>(Bytes{1}).add<Tag::curve>(Curve::p256);
            break;
        default:
            break;  // empty body: REQUEST_IN_PROGRESS, FETCH/DELETE requests, ...
    }
    return m;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 2) {
        std::fprintf(stderr, "usage: %s DIR\n", argv[0]);
        return 2;
    }
    const std::string dir = argv[1];
    Bytes stream;
    for (Command c : all_commands) {
        char name[64];
        std::snprintf(name, sizeof name, "/%02d-%s.bin", static_cast<int>(c),
                      std::string(command_name(c)).c_str());
        const Bytes wire = encode(sample(c));
        if (!capf::fuzz::write_seed_file(dir + name, wire)) {
            std::fprintf(stderr, "cannot write %s%s\n", dir.c_str(), name);
            return 1;
        }
        if (c == Command::auth_response || c == Command::request_in_progress ||
            c == Command::key_gen_response || c == Command::store_cert_response) {
            stream.insert(stream.end(), wire.begin(), wire.end());
        }
    }
    return capf::fuzz::write_seed_file(dir + "/stream-install-dialogue.bin", stream) ? 0 : 1;
}
