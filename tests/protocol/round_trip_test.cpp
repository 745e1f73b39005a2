// Encode -> decode -> compare, for every command and every element.
#include <catch2/catch.hpp>

#include "protocol/decoder.hpp"
#include "protocol/message.hpp"
#include "tests/protocol/hex.hpp"

// The file's own namespace: the suite is compiled in unity batches, and its
// file-local names must not meet another file's.
namespace round_trip_test_cases {

using namespace capf::protocol;

namespace {

constexpr std::uint32_t sid = 0xCAFE0042;

Message decode_ok(const Bytes& wire, std::optional<std::uint32_t> expected = sid) {
    auto decoded = decode_message(wire, {}, expected);
    if (auto* err = std::get_if<Error>(&decoded)) {
        FAIL("decode failed: " << err->message());
    }
    return std::get<Message>(decoded);
}

template <Tag T>
void check_element_round_trip(const element_type_t<T>& value) {
    INFO("element " << tag_name(T));
    Message m(Command::auth_response, sid);
    m.add<T>(value);
    const Bytes wire = encode(m);
    const Message back = decode_ok(wire);
    CHECK(back == m);
    REQUIRE(back.elements().size() == 1);
    CHECK(back.elements()[0].tag == T);
    const auto got = back.find<T>();
    REQUIRE(got.has_value());
    CHECK(*got == value);
    CHECK(back.get<T>() == value);
    CHECK(encode(back) == wire);
}

}  // namespace

TEST_CASE("every command round-trips with and without elements") {
    for (Command c : all_commands) {
        INFO("command " << command_name(c));
        Message empty(c, sid);
        const Bytes wire = encode(empty);
        CHECK(wire.size() == header_size);
        CHECK(decode_ok(wire) == empty);

        Message full(c, sid);
        full.add<Tag::version>(3)
            .add<Tag::reason>(Reason::success)
            .add<Tag::device_name>("SEP001122334455");
        const Bytes full_wire = encode(full);
        const Message back = decode_ok(full_wire);
        CHECK(back.command() == c);
        CHECK(back.session_id() == sid);
        CHECK(back == full);
        CHECK(encode(back) == full_wire);
    }
}

TEST_CASE("every element round-trips with its typed value") {
    check_element_round_trip<Tag::reason>(Reason::unknown_device);
    check_element_round_trip<Tag::reason>(static_cast<Reason>(42));  // unknown codes survive
    check_element_round_trip<Tag::reason_info>("key generation failed");
    check_element_round_trip<Tag::cert_type>(CertType::mic);
    check_element_round_trip<Tag::certificate>(
        CertificateValue{CertType::lsc, Bytes{0x30, 0x03, 0x02, 0x01, 0x05}});
    check_element_round_trip<Tag::certificate>(CertificateValue{CertType::mic, Bytes(1500, 0xAB)});
    check_element_round_trip<Tag::cert_id>(Bytes{1, 2, 3});
    check_element_round_trip<Tag::signed_data>(Bytes(256, 0x5A));
    check_element_round_trip<Tag::version>(3);
    check_element_round_trip<Tag::auth_type>(AuthType::null_string);
    check_element_round_trip<Tag::public_key>(Bytes(294, 0x30));
    check_element_round_trip<Tag::key_size>(4096);
    check_element_round_trip<Tag::password>("1234567");
    check_element_round_trip<Tag::password>("");
    check_element_round_trip<Tag::retry_delay>(Bytes{0, 30});
    check_element_round_trip<Tag::device_name>("SEP001122334455");
    check_element_round_trip<Tag::sudi_data>(
        SudiData{Bytes(700, 0x30), Bytes(256, 1), HashId::sha512, Bytes(256, 2)});
    check_element_round_trip<Tag::sudi_data>(SudiData{{}, {}, HashId::sha256, {}});
    check_element_round_trip<Tag::key_type>(KeyType::ec);
    check_element_round_trip<Tag::curve>(Curve::p521);
    check_element_round_trip<Tag::digest_type>(Bytes{1});
    check_element_round_trip<Tag::sha2_signed_data>(
        Sha2SignedData{HashId::sha512, Bytes(512, 0x77)});
    check_element_round_trip<Tag::sha2_signed_data>(Sha2SignedData{HashId::sha1, {}});
}

TEST_CASE("an AUTH_RESPONSE with every certificate-authentication element round-trips") {
    Message m(Command::auth_response, sid);
    m.add<Tag::version>(protocol_version)
        .add<Tag::device_name>("SEP00AABBCCDDEE")
        .add<Tag::password>("")
        .add<Tag::certificate>(CertificateValue{CertType::lsc, Bytes(900, 0x30)})
        .add<Tag::signed_data>(Bytes(256, 0x11))
        .add<Tag::sha2_signed_data>(Sha2SignedData{HashId::sha512, Bytes(256, 0x22)})
        .add<Tag::sudi_data>(
            SudiData{Bytes(800, 0x30), Bytes(256, 3), HashId::sha512, Bytes(256, 4)})
        .add<Tag::reason>(Reason::success);
    const Bytes wire = encode(m);
    const Message back = decode_ok(wire);
    CHECK(back == m);
    CHECK(back.get<Tag::device_name>() == "SEP00AABBCCDDEE");
    CHECK(back.get<Tag::certificate>().der.size() == 900);
    CHECK(back.get<Tag::sudi_data>().sha2_hash == HashId::sha512);
}

TEST_CASE("repeated elements are kept in order, typed accessors read the first") {
    Message m(Command::auth_response, sid);
    m.add<Tag::reason>(Reason::success).add<Tag::reason>(Reason::invalid_element);
    const Message back = decode_ok(encode(m));
    CHECK(back.count(Tag::reason) == 2);
    CHECK(back.get<Tag::reason>() == Reason::success);
    CHECK(back.elements()[1].value == Bytes{7});
}

TEST_CASE("a missing required element is an error that names it") {
    Message m(Command::auth_response, sid);
    m.add<Tag::version>(3);
    CHECK_FALSE(m.find<Tag::device_name>().has_value());
    CHECK_FALSE(m.has(Tag::device_name));
    try {
        (void)m.get<Tag::device_name>();
        FAIL("get<DEVICE_NAME> on a message without one must throw");
    } catch (const ProtocolError& e) {
        CHECK(e.code() == Errc::missing_element);
        REQUIRE(e.error().tag.has_value());
        CHECK(*e.error().tag == Tag::device_name);
        CHECK_THAT(std::string(e.what()),
                   Catch::Contains("DEVICE_NAME") && Catch::Contains("AUTH_RESPONSE"));
    }
}

TEST_CASE("describe() shows elements but never a password") {
    Message m(Command::auth_response, 0x01020304);
    m.add<Tag::version>(3).add<Tag::device_name>("SEP001122334455").add<Tag::password>("98765432");
    const std::string text = describe(m);
    CHECK_THAT(text, Catch::Contains("AUTH_RESPONSE session=01020304"));
    CHECK_THAT(text, Catch::Contains("DEVICE_NAME=\"SEP001122334455\""));
    CHECK_THAT(text, Catch::Contains("PASSWORD=<8 chars>"));
    CHECK_THAT(text, !Catch::Contains("98765432"));
}

TEST_CASE("building a message refuses values the wire cannot carry") {
    Message m(Command::auth_response, sid);
    CHECK_THROWS_MATCHES(m.add<Tag::device_name>(std::string("SEP\0X", 5)), ProtocolError,
                         Catch::Predicate<ProtocolError>([](const ProtocolError& e) {
                             return e.code() == Errc::text_embedded_nul;
                         }));
    CHECK_THROWS_MATCHES(m.add<Tag::device_name>("SEP\n"), ProtocolError,
                         Catch::Predicate<ProtocolError>([](const ProtocolError& e) {
                             return e.code() == Errc::text_not_printable;
                         }));
    CHECK_THROWS_MATCHES(m.add<Tag::public_key>(Bytes(70000, 0)), ProtocolError,
                         Catch::Predicate<ProtocolError>([](const ProtocolError& e) {
                             return e.code() == Errc::value_too_large;
                         }));
    CHECK_THROWS_MATCHES(m.add_raw(Tag::key_size, Bytes{8}), ProtocolError,
                         Catch::Predicate<ProtocolError>([](const ProtocolError& e) {
                             return e.code() == Errc::wrong_element_length;
                         }));
    CHECK(m.elements().empty());

    Message big(Command::store_cert_request, sid);
    big.add<Tag::public_key>(Bytes(40000, 0)).add<Tag::signed_data>(Bytes(40000, 0));
    CHECK_THROWS_MATCHES(encode(big), ProtocolError,
                         Catch::Predicate<ProtocolError>([](const ProtocolError& e) {
                             return e.code() == Errc::value_too_large;
                         }));
}

}  // namespace round_trip_test_cases
