// Writes the TVS libFuzzer seed corpus (tests/fuzz/tvs-corpus): one message
// of each kind, VERIFY_REQUEST, a valid and an invalid VERIFY_RESPONSE,
// plus two requests in one stream. Usage: capf_make_tvs_fuzz_seeds DIR
#include <cstdio>
#include <string>

#include "protocol/tvs_message.hpp"
#include "tests/fuzz/seed_file.hpp"

using namespace capf::protocol::tvs;
using capf::protocol::Bytes;

namespace {

constexpr std::uint32_t sid = 0x5EED0001;

VerifyRequest sample_request(std::uint32_t session_id) {
    // A DER-shaped stand-in (SEQUENCE of 96 bytes): the codec does not parse
    // it, and a small seed lets the fuzzer mutate the framing quickly.
    Bytes der = {0x30, 0x60};
    der.resize(98, 0x02);
    return VerifyRequest{session_id, "CP-8845-SEP001122AABBCC", der};
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 2) {
        std::fprintf(stderr, "usage: %s DIR\n", argv[0]);
        return 2;
    }
    const std::string dir = argv[1];
    Bytes stream = encode(sample_request(sid));
    const Bytes second = encode(sample_request(sid + 1));
    stream.insert(stream.end(), second.begin(), second.end());
    const std::pair<const char*, Bytes> seeds[] = {
        {"/01-VERIFY_REQUEST.bin", encode(sample_request(sid))},
        {"/02-VERIFY_RESPONSE-valid.bin",
         encode(VerifyResponse{
             sid, Status::valid, {role::sast, role::ccm, role::ccm_tftp, role::tvs}, 3600})},
        {"/02-VERIFY_RESPONSE-invalid.bin",
         encode(VerifyResponse{sid, Status::invalid, {}, std::nullopt})},
        {"/stream-two-requests.bin", stream},
    };
    for (const auto& [name, bytes] : seeds) {
        if (!capf::fuzz::write_seed_file(dir + name, bytes)) {
            std::fprintf(stderr, "cannot write %s%s\n", dir.c_str(), name);
            return 1;
        }
    }
    return 0;
}
