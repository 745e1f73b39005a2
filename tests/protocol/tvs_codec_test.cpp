// The TVS codec (protocol/README.md, section 11): the captured exchange byte
// for byte, round trips, every rejection, and every truncated prefix.
#include <catch2/catch.hpp>

#include "protocol/tvs_message.hpp"
#include "tests/protocol/hex.hpp"
#include "tests/protocol/read_file.hpp"

// The file's own namespace: the suite is compiled in unity batches, and its
// file-local names must not meet another file's.
namespace tvs_codec_test_cases {

using namespace capf::protocol::tvs;
using capf::protocol::Bytes;
using capf::protocol::NeedMoreBytes;
using capf::test::bytes_of;
using capf::test::from_hex;
using capf::test::to_hex;

namespace {

const std::string device = "CP-8845-SEP001122AABBCC";

/// A certificate-sized DER stand-in: SEQUENCE, length 0x0345, 837 bytes:
/// 841 in all, the size of the certificate in the captured request.
Bytes der_841() {
    Bytes der = from_hex("30 82 03 45");
    for (std::size_t i = 0; der.size() < 841; ++i) {
        der.push_back(static_cast<std::uint8_t>(i * 7 + 3));
    }
    return der;
}

Bytes concat(std::initializer_list<Bytes> parts) {
    Bytes out;
    for (const auto& p : parts) {
        out.insert(out.end(), p.begin(), p.end());
    }
    return out;
}

/// A frame written by hand: header with the body's true length, then `body`.
Bytes frame(std::uint8_t command, std::uint32_t sid, const Bytes& body) {
    Bytes out = {0x57,
                 0x01,
                 command,
                 0x00,
                 static_cast<std::uint8_t>(sid >> 24),
                 static_cast<std::uint8_t>(sid >> 16),
                 static_cast<std::uint8_t>(sid >> 8),
                 static_cast<std::uint8_t>(sid),
                 static_cast<std::uint8_t>(body.size() >> 8),
                 static_cast<std::uint8_t>(body.size() & 0xFF)};
    out.insert(out.end(), body.begin(), body.end());
    return out;
}

Bytes element(std::uint8_t tag, const Bytes& value) {
    Bytes out = {tag, static_cast<std::uint8_t>(value.size() >> 8),
                 static_cast<std::uint8_t>(value.size() & 0xFF)};
    out.insert(out.end(), value.begin(), value.end());
    return out;
}

Bytes name_value(const std::string& name) {
    return concat({Bytes{0x01}, bytes_of(name)});
}

Bytes good_request_body() {
    return concat({element(1, name_value(device)), element(2, from_hex("30 03 02 01 05"))});
}

Errc error_of(const std::variant<Message, Error>& r) {
    REQUIRE(std::holds_alternative<Error>(r));
    return std::get<Error>(r).code;
}

VerifyRequest captured_request() {
    return VerifyRequest{1, device, der_841()};
}

}  // namespace

TEST_CASE("TVS: the captured request of section 11, byte for byte") {
    const Bytes wire = concat({from_hex("57 01 01 00 00 00 00 01 03 67"), from_hex("01 00 18 01"),
                               bytes_of(device), from_hex("02 03 49"), der_841()});
    REQUIRE(wire.size() == 10 + 0x367);
    CHECK(to_hex(encode(captured_request())) == to_hex(wire));
    auto decoded = decode_request(wire);
    REQUIRE(std::holds_alternative<VerifyRequest>(decoded));
    CHECK(std::get<VerifyRequest>(decoded) == captured_request());
}

TEST_CASE("TVS: the captured valid answer (roles SAST, CCM, CCM+TFTP, TVS, TTL 3600)") {
    const Bytes wire = from_hex(
        "57 01 02 00 00 00 00 01 00 12  07 00 01 00  08 00 04 00 01 02 15  09 00 04 00 00 0E 10");
    const VerifyResponse answer{
        1, Status::valid, {role::sast, role::ccm, role::ccm_tftp, role::tvs}, 3600};
    CHECK(to_hex(encode(answer)) == to_hex(wire));
    auto decoded = decode_response(wire);
    REQUIRE(std::holds_alternative<VerifyResponse>(decoded));
    CHECK(std::get<VerifyResponse>(decoded) == answer);
    CHECK(std::get<VerifyResponse>(decoded).valid());
}

TEST_CASE("TVS: the captured invalid answer is STATUS 1 alone") {
    const Bytes wire = from_hex("57 01 02 00 00 00 00 01 00 04  07 00 01 01");
    const VerifyResponse answer{1, Status::invalid, {}, std::nullopt};
    CHECK(to_hex(encode(answer)) == to_hex(wire));
    auto decoded = decode_response(wire);
    REQUIRE(std::holds_alternative<VerifyResponse>(decoded));
    CHECK(std::get<VerifyResponse>(decoded) == answer);
    CHECK_FALSE(std::get<VerifyResponse>(decoded).valid());
}

TEST_CASE("TVS: round trips") {
    SECTION("a request with a real LSC and the largest session id") {
        const VerifyRequest r{0xFFFFFFFF, "CP-7962G-SEP001122334455",
                              capf::test::read_file(CAPF_TEST_DATA_DIR "/lsc-sample.der")};
        auto decoded = decode_request(encode(r));
        REQUIRE(std::holds_alternative<VerifyRequest>(decoded));
        CHECK(std::get<VerifyRequest>(decoded) == r);
    }
    SECTION("a valid answer without a TTL, and one with no roles") {
        for (const VerifyResponse& a :
             {VerifyResponse{7, Status::valid, {role::application_server}, std::nullopt},
              VerifyResponse{8, Status::valid, {}, 0xFFFFFFFF}}) {
            auto decoded = decode_response(encode(a));
            REQUIRE(std::holds_alternative<VerifyResponse>(decoded));
            CHECK(std::get<VerifyResponse>(decoded) == a);
        }
    }
    SECTION("elements in another order are read the same") {
        const Bytes wire = frame(
            1, 9,
            concat({element(2, from_hex("30 00")), element(1, name_value("SEP001122334455"))}));
        auto decoded = decode_request(wire);
        REQUIRE(std::holds_alternative<VerifyRequest>(decoded));
        CHECK(std::get<VerifyRequest>(decoded) ==
              VerifyRequest{9, "SEP001122334455", from_hex("30 00")});
    }
    SECTION("a request at the body limit is accepted, one byte more is not") {
        const std::size_t fixed = 3 + 1 + device.size() + 3;
        VerifyRequest r{1, device, Bytes(default_max_body_size - fixed, 0x30)};
        const Bytes wire = encode(r);
        CHECK(wire.size() == header_size + default_max_body_size);
        CHECK(std::holds_alternative<VerifyRequest>(decode_request(wire)));
        r.certificate.push_back(0x30);
        CHECK(error_of(decode_message(encode(r))) == Errc::body_too_large);
    }
}

TEST_CASE("TVS: header rejections, each as early as its byte") {
    const Bytes good = frame(1, 1, good_request_body());
    auto header_error = [](Bytes bytes) {
        auto r = decode_header(bytes);
        REQUIRE(std::holds_alternative<Error>(r));
        return std::get<Error>(r);
    };
    SECTION("wrong protocol id: a CAPF frame (0x55) at the TVS port") {
        Bytes b = good;
        b[0] = 0x55;
        CHECK(header_error({0x55}).code == Errc::wrong_protocol_id);
        CHECK(error_of(decode_message(b)) == Errc::wrong_protocol_id);
    }
    SECTION("wrong version") {
        CHECK(header_error({0x57, 0x02}).code == Errc::wrong_version);
        CHECK(header_error({0x57, 0x00}).offset == 1);
    }
    SECTION("QUERY_REQUEST and QUERY_RESPONSE: named, unsupported") {
        for (int c : {3, 4}) {
            const Error e = header_error({0x57, 0x01, static_cast<std::uint8_t>(c)});
            CHECK(e.code == Errc::unsupported_command);
            CHECK(e.message().find("QUERY_") != std::string::npos);
        }
    }
    SECTION("commands outside 1..4") {
        for (int c : {0, 5, 0x55, 0xFF}) {
            CHECK(header_error({0x57, 0x01, static_cast<std::uint8_t>(c)}).code ==
                  Errc::unknown_command);
        }
    }
    SECTION("reserved byte not zero") {
        CHECK(header_error({0x57, 0x01, 0x01, 0x01}).code == Errc::reserved_not_zero);
    }
    SECTION("a body over the limit is refused on the header alone") {
        const Bytes head = from_hex("57 01 01 00 00 00 00 01 40 01");  // 16385
        CHECK(header_error(head).code == Errc::body_too_large);
        CHECK(header_error(from_hex("57 01 01 00 00 00 00 01 FF FF")).code == Errc::body_too_large);
        Limits small;
        small.max_body_size = 100;
        auto r = decode_header(from_hex("57 01 01 00 00 00 00 01 00 65"), small);
        REQUIRE(std::holds_alternative<Error>(r));
        CHECK(std::get<Error>(r).code == Errc::body_too_large);
        CHECK(std::holds_alternative<FrameHeader>(
            decode_header(from_hex("57 01 01 00 00 00 00 01 00 64"), small)));
    }
}

TEST_CASE("TVS: lengths that lie") {
    const Bytes body = good_request_body();
    SECTION("the header announces more than follows") {
        Bytes b = frame(1, 1, body);
        b[9] = static_cast<std::uint8_t>(b[9] + 1);
        CHECK(error_of(decode_message(b)) == Errc::length_overrun);
    }
    SECTION("the header announces less than follows") {
        Bytes b = frame(1, 1, body);
        b.push_back(0);
        CHECK(error_of(decode_message(b)) == Errc::trailing_bytes);
    }
    SECTION("the header announces less: the body ends inside an element") {
        Bytes b = frame(1, 1, body);
        b[9] = static_cast<std::uint8_t>(b[9] - 2);
        b.resize(b.size() - 2);
        CHECK(error_of(decode_message(b)) == Errc::element_overrun);
    }
    SECTION("an element claims more than the body holds") {
        Bytes b = frame(1, 1, concat({element(1, name_value(device)), from_hex("02 00 09 30 00")}));
        auto r = decode_message(b);
        CHECK(error_of(r) == Errc::element_overrun);
        CHECK(std::get<Error>(r).tag == std::uint8_t{2});
    }
    SECTION("a body that ends inside an element header") {
        CHECK(error_of(decode_message(frame(1, 1, concat({body, from_hex("02 00")})))) ==
              Errc::element_overrun);
    }
}

TEST_CASE("TVS: request rejections") {
    auto request_with = [](const Bytes& body) { return decode_message(frame(1, 1, body)); };
    const Bytes cert = element(2, from_hex("30 00"));
    CHECK(error_of(request_with(concat({element(1, bytes_of(device)), cert}))) ==
          Errc::bad_device_name);  // no 0x01 prefix
    CHECK(error_of(request_with(concat({element(1, {0x01}), cert}))) == Errc::bad_device_name);
    CHECK(error_of(request_with(concat({element(1, {}), cert}))) == Errc::bad_device_name);
    CHECK(error_of(request_with(concat({element(1, name_value("SEP\n1")), cert}))) ==
          Errc::bad_device_name);
    CHECK(error_of(request_with(concat({element(1, name_value(std::string("SEP\0", 4))), cert}))) ==
          Errc::bad_device_name);
    CHECK(error_of(request_with(concat({element(1, name_value("SEP\xC3\xA9")), cert}))) ==
          Errc::bad_device_name);
    CHECK(error_of(request_with(concat({element(1, name_value(std::string(129, 'A'))), cert}))) ==
          Errc::device_name_too_long);
    CHECK(std::holds_alternative<Message>(
        request_with(concat({element(1, name_value(std::string(128, 'A'))), cert}))));
    CHECK(error_of(request_with(concat({element(1, name_value(device)), element(2, {})}))) ==
          Errc::empty_certificate);
    CHECK(error_of(request_with(concat({element(1, name_value(device)), cert, cert}))) ==
          Errc::duplicate_element);
    CHECK(error_of(request_with(
              concat({element(1, name_value(device)), element(1, name_value(device)), cert}))) ==
          Errc::duplicate_element);
    CHECK(error_of(request_with(element(1, name_value(device)))) == Errc::missing_element);
    CHECK(error_of(request_with(cert)) == Errc::missing_element);
    CHECK(error_of(request_with({})) == Errc::missing_element);
    SECTION("a tag of the other direction, or none at all, is unknown") {
        for (const std::uint8_t tag : Bytes{0, 3, 7, 9, 0xFF}) {
            auto r =
                request_with(concat({element(1, name_value(device)), cert, element(tag, {1})}));
            CHECK(error_of(r) == Errc::unknown_tag);
            CHECK(std::get<Error>(r).tag == tag);
        }
    }
    SECTION("unless Limits::skip_unknown_tags") {
        Limits skip;
        skip.skip_unknown_tags = true;
        auto r = decode_message(
            frame(1, 1, concat({element(5, {1, 2}), element(1, name_value(device)), cert})), skip);
        REQUIRE(std::holds_alternative<Message>(r));
        CHECK(std::get<VerifyRequest>(std::get<Message>(r)).device_name == device);
        // Skipped, but an element running past the body is still an overrun.
        CHECK(error_of(decode_message(
                  frame(1, 1,
                        concat({element(1, name_value(device)), cert, from_hex("05 00 04 01")})),
                  skip)) == Errc::element_overrun);
    }
    SECTION("a shorter name limit") {
        Limits small;
        small.max_device_name_size = 15;
        CHECK(error_of(decode_message(frame(1, 1, good_request_body()), small)) ==
              Errc::device_name_too_long);
    }
}

TEST_CASE("TVS: response rejections") {
    auto answer_with = [](const Bytes& body) { return decode_message(frame(2, 1, body)); };
    CHECK(error_of(answer_with({})) == Errc::missing_element);
    CHECK(error_of(answer_with(element(8, {1}))) == Errc::missing_element);
    CHECK(error_of(answer_with(element(7, {0, 0}))) == Errc::wrong_element_length);
    CHECK(error_of(answer_with(element(7, {}))) == Errc::wrong_element_length);
    CHECK(error_of(answer_with(element(7, {2}))) == Errc::invalid_status);
    CHECK(error_of(answer_with(concat({element(7, {0}), element(9, {0, 0, 1})}))) ==
          Errc::wrong_element_length);
    CHECK(error_of(answer_with(concat({element(7, {1}), element(8, {1})}))) ==
          Errc::element_not_allowed);
    CHECK(error_of(answer_with(concat({element(9, {0, 0, 0, 1}), element(7, {1})}))) ==
          Errc::element_not_allowed);
    CHECK(error_of(answer_with(concat({element(7, {0}), element(7, {0})}))) ==
          Errc::duplicate_element);
    CHECK(error_of(answer_with(concat({element(7, {0}), element(2, {0x30})}))) ==
          Errc::unknown_tag);
}

TEST_CASE("TVS: a message of the other direction is unexpected") {
    const Bytes request = encode(captured_request());
    const Bytes answer = encode(VerifyResponse{1, Status::invalid, {}, std::nullopt});
    auto a = decode_response(request);
    REQUIRE(std::holds_alternative<Error>(a));
    CHECK(std::get<Error>(a).code == Errc::unexpected_command);
    auto b = decode_request(answer);
    REQUIRE(std::holds_alternative<Error>(b));
    CHECK(std::get<Error>(b).code == Errc::unexpected_command);
}

TEST_CASE("TVS: the encoders refuse what the decoder would") {
    auto refused = [](auto&& encode_it) {
        try {
            encode_it();
        } catch (const TvsError& e) {
            return e.code();
        }
        FAIL("not refused");
        return Errc{};
    };
    CHECK(refused([] { encode(VerifyRequest{1, "", {0x30}}); }) == Errc::bad_device_name);
    CHECK(refused([] { encode(VerifyRequest{1, "SEP\t1", {0x30}}); }) == Errc::bad_device_name);
    CHECK(refused([] { encode(VerifyRequest{1, device, {}}); }) == Errc::empty_certificate);
    CHECK(refused([] {
              encode(VerifyRequest{1, device, Bytes(0x10000, 0x30)});
          }) == Errc::value_too_large);
    CHECK(refused([] {
              encode(VerifyRequest{1, device, Bytes(0xFFF0, 0x30)});
          }) == Errc::value_too_large);  // the element fits, the body does not
    CHECK(refused([] {
              encode(VerifyResponse{1, Status::invalid, {1}, std::nullopt});
          }) == Errc::element_not_allowed);
    CHECK(refused([] {
              encode(VerifyResponse{1, Status::invalid, {}, 60});
          }) == Errc::element_not_allowed);
}

TEST_CASE("TVS: every truncated prefix of a good request or answer needs more bytes") {
    const std::vector<Bytes> good = {
        encode(captured_request()),
        encode(VerifyResponse{1, Status::valid, {0, 1, 2, 21}, 3600}),
        encode(VerifyResponse{1, Status::invalid, {}, std::nullopt}),
    };
    for (const Bytes& wire : good) {
        for (std::size_t n = 0; n < wire.size(); ++n) {
            INFO("prefix of " << n << " of " << wire.size() << " bytes");
            const auto prefix = std::span<const std::uint8_t>(wire).first(n);
            FrameReader reader;
            reader.feed(prefix);
            const auto r = reader.next();
            REQUIRE(std::holds_alternative<NeedMoreBytes>(r));
            CHECK(reader.buffered() == n);
            const auto end = reader.end_of_stream();
            CHECK(end.has_value() == (n > 0));
            if (end) {
                CHECK(end->code == Errc::length_overrun);
            }
            // Whole-buffer decoding calls the same thing a length overrun,
            // never a malformed message.
            CHECK(error_of(decode_message(prefix)) == Errc::length_overrun);
            const auto head = decode_header(prefix);
            CHECK_FALSE(std::holds_alternative<Error>(head));
        }
    }
}

TEST_CASE("TVS: errors name the command, the element and the offset") {
    const Bytes b = frame(1, 1, concat({element(1, name_value(device)), from_hex("02 00 09 30")}));
    auto r = decode_message(b);
    REQUIRE(std::holds_alternative<Error>(r));
    CHECK(std::get<Error>(r).message() ==
          "element_overrun in VERIFY_REQUEST at offset 37 (CERTIFICATE): claims 9 bytes, 1 remain");
    CHECK(describe(Message(captured_request())) ==
          "VERIFY_REQUEST session=00000001 device=\"CP-8845-SEP001122AABBCC\" "
          "certificate=<841 bytes>");
    CHECK(describe(Message(VerifyResponse{1, Status::valid, {0, 21}, std::nullopt})) ==
          "VERIFY_RESPONSE session=00000001 valid roles=0,21 ttl=none");
}

}  // namespace tvs_codec_test_cases
