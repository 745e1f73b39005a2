// Messages whose bytes are fixed by protocol/README.md (sections 2-4), written
// out by hand.
#include <catch2/catch.hpp>

#include "protocol/decoder.hpp"
#include "protocol/message.hpp"
#include "tests/protocol/hex.hpp"
#include "tests/protocol/read_file.hpp"

// The file's own namespace: the suite is compiled in unity batches, and its
// file-local names must not meet another file's.
namespace byte_exact_test_cases {

using namespace capf::protocol;
using capf::test::from_hex;
using capf::test::to_hex;

namespace {

void check_bytes(const Message& m, const Bytes& expected) {
    const Bytes wire = encode(m);
    CHECK(to_hex(wire) == to_hex(expected));
    auto decoded = decode_message(expected, {}, m.session_id());
    REQUIRE(std::holds_alternative<Message>(decoded));
    CHECK(std::get<Message>(decoded) == m);
}

}  // namespace

TEST_CASE("the server's opening AUTH_REQUEST is byte-exact") {
    Message m(Command::auth_request, 0x0A0B0C0D);
    m.add<Tag::version>(protocol_version).add<Tag::auth_type>(AuthType::none);
    check_bytes(m, from_hex("55 01 0a0b0c0d 0008 07 0001 03 08 0001 00"));
}

TEST_CASE("an AUTH_RESPONSE with device name and empty password is byte-exact") {
    Message m(Command::auth_response, 0x0A0B0C0D);
    m.add<Tag::version>(3).add<Tag::device_name>("SEP001122334455").add<Tag::password>("");
    // body: VERSION (4) + DEVICE_NAME (3 + 15 + NUL) + PASSWORD (3 + NUL) = 27
    check_bytes(m, from_hex("55 02 0a0b0c0d 001b"
                            "07 0001 03"
                            "0d 0010 534550303031313232333334343535 00"
                            "0b 0001 00"));
}

TEST_CASE("a KEY_GEN_REQUEST for RSA 2048 is byte-exact") {
    Message m(Command::key_gen_request, 0x0A0B0C0D);
    m.add<Tag::key_type>(KeyType::rsa).add<Tag::key_size>(2048);
    check_bytes(m, from_hex("55 03 0a0b0c0d 0009 11 0001 00 0a 0002 0800"));
}

TEST_CASE("a KEY_GEN_REQUEST for EC P-384 is byte-exact") {
    Message m(Command::key_gen_request, 0x0A0B0C0D);
    m.add<Tag::key_type>(KeyType::ec).add<Tag::curve>(Curve::p384);
    check_bytes(m, from_hex("55 03 0a0b0c0d 0008 11 0001 01 12 0001 01"));
}

TEST_CASE("a STORE_CERT_REQUEST carrying a certificate is byte-exact") {
    const Bytes der = capf::test::read_file(CAPF_TEST_DATA_DIR "/lsc-sample.der");
    REQUIRE(der.size() == 847);
    Message m(Command::store_cert_request, 0x0A0B0C0D);
    m.add<Tag::cert_type>(CertType::lsc)
        .add<Tag::certificate>(CertificateValue{CertType::lsc, der});

    // CERTIFICATE value: 01 | DER length + 2 (0x0351) | 00 | 01 | DER  -> 852 bytes
    Bytes expected = from_hex("55 09 0a0b0c0d");
    const std::size_t body = 4 + 3 + 5 + der.size();
    expected.push_back(static_cast<std::uint8_t>(body >> 8));
    expected.push_back(static_cast<std::uint8_t>(body & 0xFF));
    for (std::uint8_t b : from_hex("03 0001 01  04 0354 01 0351 00 01")) {
        expected.push_back(b);
    }
    expected.insert(expected.end(), der.begin(), der.end());
    CHECK(body == 0x035b);  // CERT_TYPE (4) + CERTIFICATE header (3) + value (852)
    check_bytes(m, expected);

    // The DER starts 5 bytes into the CERTIFICATE value.
    const Bytes wire = encode(m);
    const std::size_t der_offset = header_size + 4 + 3 + 5;
    CHECK(Bytes(wire.begin() + static_cast<std::ptrdiff_t>(der_offset), wire.end()) == der);
}

TEST_CASE("END_SESSION with reason 9 (unknown device) is byte-exact") {
    Message m(Command::end_session, 0x0A0B0C0D);
    m.add<Tag::reason>(Reason::unknown_device);
    check_bytes(m, from_hex("55 0f 0a0b0c0d 0004 01 0001 09"));
}

TEST_CASE("REQUEST_IN_PROGRESS and FETCH_CERT_REQUEST have empty bodies") {
    check_bytes(Message(Command::request_in_progress, 1), from_hex("55 11 00000001 0000"));
    check_bytes(Message(Command::fetch_cert_request, 1), from_hex("55 0b 00000001 0000"));
}

TEST_CASE("SHA2_SIGNED_DATA and SUDI_DATA follow their nested layouts") {
    Message m(Command::auth_response, 0x0A0B0C0D);
    m.add<Tag::sha2_signed_data>(Sha2SignedData{HashId::sha512, from_hex("aabbcc")});
    m.add<Tag::sudi_data>(
        SudiData{from_hex("3000"), from_hex("11"), HashId::sha512, from_hex("2222")});
    check_bytes(m, from_hex("55 02 0a0b0c0d 001a"
                            "14 0006 03 0003 aabbcc"
                            "10 000e 00 0002 3000 01 0001 11 03 0002 2222"));
}

}  // namespace byte_exact_test_cases
