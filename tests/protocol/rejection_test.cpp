// One test per rejection the codec makes, each asserting the specific error.
#include <catch2/catch.hpp>

#include "protocol/decoder.hpp"
#include "tests/protocol/hex.hpp"

// The file's own namespace: the suite is compiled in unity batches, and its
// file-local names must not meet another file's.
namespace rejection_test_cases {

using namespace capf::protocol;
using capf::test::from_hex;

namespace {

Error decode_error(const Bytes& wire, std::optional<std::uint32_t> expected = std::nullopt,
                   DecodeLimits limits = {}) {
    auto decoded = decode_message(wire, limits, expected);
    if (auto* m = std::get_if<Message>(&decoded)) {
        FAIL("expected a decode error, got " << describe(*m));
    }
    return std::get<Error>(decoded);
}

/// A message with one element of the given tag and raw value.
Bytes with_element(std::uint8_t tag, const Bytes& value, std::uint8_t command = 2) {
    Bytes wire = {0x55, command, 0, 0, 0, 1};
    const std::size_t body = 3 + value.size();
    wire.push_back(static_cast<std::uint8_t>(body >> 8));
    wire.push_back(static_cast<std::uint8_t>(body));
    wire.push_back(tag);
    wire.push_back(static_cast<std::uint8_t>(value.size() >> 8));
    wire.push_back(static_cast<std::uint8_t>(value.size()));
    wire.insert(wire.end(), value.begin(), value.end());
    return wire;
}

}  // namespace

TEST_CASE("rejects a wrong protocol id") {
    const Error e = decode_error(from_hex("54 01 00000001 0000"));
    CHECK(e.code == Errc::wrong_protocol_id);
    CHECK(e.offset == 0);
    CHECK_THAT(e.message(), Catch::Contains("85"));
}

TEST_CASE("rejects a command code outside 1..23") {
    CHECK(decode_error(from_hex("55 00 00000001 0000")).code == Errc::unknown_command);
    CHECK(decode_error(from_hex("55 18 00000001 0000")).code == Errc::unknown_command);
    CHECK(decode_error(from_hex("55 ff 00000001 0000")).code == Errc::unknown_command);
}

TEST_CASE("rejects a session id other than the expected one") {
    const Bytes wire = from_hex("55 02 00000002 0000");
    const Error e = decode_error(wire, 0x00000001);
    CHECK(e.code == Errc::session_id_mismatch);
    CHECK(e.offset == 2);
    CHECK_THAT(e.message(), Catch::Contains("0x00000002") && Catch::Contains("0x00000001"));
    // Without an expectation the same bytes are fine.
    CHECK(std::holds_alternative<Message>(decode_message(wire)));
}

TEST_CASE("rejects a body shorter than its length (length overrun)") {
    const Error e = decode_error(from_hex("55 0f 00000001 0004 01 0001"));
    CHECK(e.code == Errc::length_overrun);
    CHECK(e.command == Command::end_session);
    CHECK(decode_error(from_hex("55 0f 0000")).code == Errc::length_overrun);
}

TEST_CASE("rejects bytes after a complete message in a single-message buffer") {
    const Error e = decode_error(from_hex("55 0f 00000001 0004 01 0001 09 00"));
    CHECK(e.code == Errc::trailing_bytes);
    CHECK(e.offset == 12);
}

TEST_CASE("rejects an element whose length runs past the body (element overrun)") {
    // DEVICE_NAME claims 16 bytes, 4 remain.
    Error e = decode_error(from_hex("55 02 00000001 0007 0d 0010 53455000"));
    CHECK(e.code == Errc::element_overrun);
    CHECK(e.tag == Tag::device_name);
    CHECK(e.offset == 8);
    // A body that ends inside an element header.
    e = decode_error(from_hex("55 02 00000001 0006 07 0001 03 0d 00"));
    CHECK(e.code == Errc::element_overrun);
    CHECK(e.offset == 12);
}

TEST_CASE("rejects a fixed-size element with another length") {
    for (std::uint8_t tag : std::initializer_list<std::uint8_t>{1, 3, 7, 8, 17, 18}) {
        INFO("tag " << int(tag));
        CHECK(decode_error(with_element(tag, {})).code == Errc::wrong_element_length);
        const Error e = decode_error(with_element(tag, {1, 2}));
        CHECK(e.code == Errc::wrong_element_length);
        CHECK(e.tag == tag_from_byte(tag));
        CHECK(e.offset == 11);
    }
    CHECK(decode_error(with_element(10, {8})).code == Errc::wrong_element_length);
    CHECK(decode_error(with_element(10, {0, 8, 0})).code == Errc::wrong_element_length);
}

TEST_CASE("rejects text without its trailing NUL") {
    for (std::uint8_t tag : std::initializer_list<std::uint8_t>{2, 11, 13}) {
        INFO("tag " << int(tag));
        CHECK(decode_error(with_element(tag, {'S', 'E', 'P'})).code == Errc::text_not_terminated);
        CHECK(decode_error(with_element(tag, {})).code == Errc::text_not_terminated);
    }
}

TEST_CASE("rejects text with an embedded NUL") {
    const Error e = decode_error(with_element(13, {'S', 'E', 0, 'P', 0}));
    CHECK(e.code == Errc::text_embedded_nul);
    CHECK(e.tag == Tag::device_name);
    CHECK(e.offset == 11 + 2);
    CHECK(decode_error(with_element(11, {'1', 0, '2', 0})).code == Errc::text_embedded_nul);
}

TEST_CASE("rejects text with control bytes, and non-ASCII device names") {
    for (std::uint8_t bad : std::initializer_list<std::uint8_t>{0x01, 0x0a, 0x1b, 0x1f, 0x7f}) {
        INFO("byte " << int(bad));
        CHECK(decode_error(with_element(13, {'S', bad, 0})).code == Errc::text_not_printable);
        CHECK(decode_error(with_element(11, {'1', bad, 0})).code == Errc::text_not_printable);
        CHECK(decode_error(with_element(2, {'x', bad, 0})).code == Errc::text_not_printable);
    }
    CHECK(decode_error(with_element(13, {'S', 0xC3, 0xA9, 0})).code == Errc::text_not_printable);
    // Free text may carry UTF-8.
    CHECK(std::holds_alternative<Message>(decode_message(with_element(2, {'x', 0xC3, 0xA9, 0}))));
}

TEST_CASE("reports an unknown tag with its value") {
    for (std::uint8_t tag : std::initializer_list<std::uint8_t>{0, 14, 15, 21, 255}) {
        INFO("tag " << int(tag));
        const Error e = decode_error(with_element(tag, {1}));
        CHECK(e.code == Errc::unknown_tag);
        CHECK(e.raw_tag == tag);
        CHECK(e.offset == 8);
        CHECK(e.command == Command::auth_response);
    }
}

TEST_CASE("rejects a malformed CERTIFICATE wrapper") {
    // good: 01 0003 00 01 30
    CHECK(std::holds_alternative<Message>(
        decode_message(with_element(4, from_hex("01 0003 00 01 30")))));
    CHECK(decode_error(with_element(4, from_hex("02 0003 00 01 30"))).code ==
          Errc::malformed_certificate);
    CHECK(decode_error(with_element(4, from_hex("01 0004 00 01 30"))).code ==
          Errc::malformed_certificate);
    CHECK(decode_error(with_element(4, from_hex("01 0002 00 01 30"))).code ==
          Errc::malformed_certificate);
    CHECK(decode_error(with_element(4, from_hex("01 0003 01 01 30"))).code ==
          Errc::malformed_certificate);
    CHECK(decode_error(with_element(4, from_hex("01 0002 00 01"))).code ==
          Errc::malformed_certificate);
    CHECK(decode_error(with_element(4, {})).code == Errc::malformed_certificate);
}

TEST_CASE("rejects malformed SHA2_SIGNED_DATA") {
    CHECK(std::holds_alternative<Message>(
        decode_message(with_element(20, from_hex("03 0002 aabb")))));
    CHECK(decode_error(with_element(20, {})).code == Errc::malformed_sha2_signed_data);
    CHECK(decode_error(with_element(20, from_hex("03 00"))).code ==
          Errc::malformed_sha2_signed_data);
    CHECK(decode_error(with_element(20, from_hex("03 0003 aabb"))).code ==
          Errc::malformed_sha2_signed_data);
    CHECK(decode_error(with_element(20, from_hex("03 0001 aabb"))).code ==
          Errc::malformed_sha2_signed_data);
}

TEST_CASE("rejects malformed SUDI_DATA") {
    const Bytes good = from_hex("00 0001 30 01 0001 11 03 0001 22");
    CHECK(std::holds_alternative<Message>(decode_message(with_element(16, good))));
    for (const char* bad :
         {"", "01 0001 30 01 0001 11 03 0001 22", "00 0002 30", "00 0001 30 02 0001 11 03 0001 22",
          "00 0001 30 01 0005 11", "00 0001 30 01 0001 11", "00 0001 30 01 0001 11 03 0002 22",
          "00 0001 30 01 0001 11 03 0001 22 ff"}) {
        INFO("SUDI " << bad);
        CHECK(decode_error(with_element(16, from_hex(bad))).code == Errc::malformed_sudi_data);
    }
}

TEST_CASE("rejects a message over the configured maximum size") {
    const Bytes wire = with_element(9, Bytes(200, 0x30));  // 211 bytes in all
    CHECK(std::holds_alternative<Message>(decode_message(wire, DecodeLimits{211})));
    const Error e = decode_error(wire, std::nullopt, DecodeLimits{210});
    CHECK(e.code == Errc::message_too_large);
    CHECK_THAT(e.message(), Catch::Contains("211") && Catch::Contains("210"));
    // The default limit applies without configuration.
    const Bytes big = with_element(9, Bytes(default_max_message_size, 0x30));
    CHECK(decode_error(big).code == Errc::message_too_large);
}

}  // namespace rejection_test_cases
