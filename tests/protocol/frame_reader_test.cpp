// The incremental reader: any split of the stream gives the same messages.
#include <catch2/catch.hpp>
#include <random>

#include "protocol/decoder.hpp"
#include "tests/protocol/hex.hpp"

// The file's own namespace: the suite is compiled in unity batches, and its
// file-local names must not meet another file's.
namespace frame_reader_test_cases {

using namespace capf::protocol;
using capf::test::from_hex;

namespace {

constexpr std::uint32_t sid = 0x11223344;

std::vector<Message> sample_dialogue() {
    std::vector<Message> out;
    out.emplace_back(Command::auth_response, sid);
    out.back().add<Tag::version>(3).add<Tag::device_name>("SEP001122334455").add<Tag::password>("");
    out.emplace_back(Command::request_in_progress, sid);
    out.emplace_back(Command::key_gen_response, sid);
    out.back().add<Tag::public_key>(Bytes(294, 0x30)).add<Tag::reason>(Reason::success);
    out.emplace_back(Command::store_cert_response, sid);
    out.back().add<Tag::reason>(Reason::success);
    return out;
}

Bytes concat(const std::vector<Message>& messages) {
    Bytes out;
    for (const auto& m : messages) {
        const Bytes wire = encode(m);
        out.insert(out.end(), wire.begin(), wire.end());
    }
    return out;
}

/// Feeds `stream` in the given chunk sizes and collects every message.
std::vector<Message> read_all(FrameReader& reader, const Bytes& stream,
                              const std::vector<std::size_t>& chunks) {
    std::vector<Message> got;
    std::size_t at = 0;
    auto drain = [&] {
        for (;;) {
            auto r = reader.next();
            if (auto* m = std::get_if<Message>(&r)) {
                got.push_back(std::move(*m));
            } else if (auto* e = std::get_if<Error>(&r)) {
                FAIL("unexpected error " << e->message());
            } else {
                return;
            }
        }
    };
    for (std::size_t n : chunks) {
        n = std::min(n, stream.size() - at);
        reader.feed(std::span(stream).subspan(at, n));
        at += n;
        drain();
    }
    reader.feed(std::span(stream).subspan(at));
    drain();
    return got;
}

}  // namespace

TEST_CASE("the reader yields the same messages for every two-way split") {
    const auto messages = sample_dialogue();
    const Bytes stream = concat(messages);
    for (std::size_t split = 0; split <= stream.size(); ++split) {
        FrameReader reader({}, sid);
        const auto got = read_all(reader, stream, {split});
        REQUIRE(got == messages);
        CHECK(reader.buffered() == 0);
        CHECK_FALSE(reader.end_of_stream().has_value());
    }
}

TEST_CASE("the reader yields the same messages fed one byte at a time or in random chunks") {
    const auto messages = sample_dialogue();
    const Bytes stream = concat(messages);
    FrameReader one_by_one({}, sid);
    CHECK(read_all(one_by_one, stream, std::vector<std::size_t>(stream.size(), 1)) == messages);

    std::mt19937 rng(20261124);
    std::uniform_int_distribution<std::size_t> size(0, 40);
    for (int round = 0; round < 200; ++round) {
        std::vector<std::size_t> chunks;
        for (std::size_t total = 0; total < stream.size();) {
            chunks.push_back(size(rng));
            total += chunks.back();
        }
        FrameReader reader({}, sid);
        REQUIRE(read_all(reader, stream, chunks) == messages);
    }
}

TEST_CASE("every truncated prefix of a good message needs more bytes, never an error") {
    Message m(Command::auth_response, sid);
    m.add<Tag::version>(3)
        .add<Tag::device_name>("SEP001122334455")
        .add<Tag::certificate>(CertificateValue{CertType::lsc, Bytes(40, 0x30)})
        .add<Tag::sha2_signed_data>(Sha2SignedData{HashId::sha512, Bytes(16, 1)})
        .add<Tag::sudi_data>(SudiData{Bytes(8, 0x30), Bytes(4, 1), HashId::sha512, Bytes(4, 2)});
    const Bytes wire = encode(m);
    for (std::size_t n = 0; n < wire.size(); ++n) {
        INFO("prefix of " << n << " bytes");
        const auto prefix = std::span(wire).first(n);
        FrameReader reader({}, sid);
        reader.feed(prefix);
        CHECK(std::holds_alternative<NeedMoreBytes>(reader.next()));
        if (n > 0) {
            const auto eos = reader.end_of_stream();
            REQUIRE(eos.has_value());
            CHECK(eos->code == Errc::length_overrun);
        }
        auto whole = decode_message(prefix, {}, sid);
        REQUIRE(std::holds_alternative<Error>(whole));
        CHECK(std::get<Error>(whole).code == Errc::length_overrun);
    }
}

TEST_CASE("the reader rejects a bad header as soon as the bad byte arrives") {
    FrameReader wrong_id;
    wrong_id.feed(from_hex("16"));  // a TLS record byte where CAPF was expected
    auto r = wrong_id.next();
    REQUIRE(std::holds_alternative<Error>(r));
    CHECK(std::get<Error>(r).code == Errc::wrong_protocol_id);

    FrameReader wrong_sid({}, 0x01020304);
    wrong_sid.feed(from_hex("55 02 01020305"));
    r = wrong_sid.next();
    REQUIRE(std::holds_alternative<Error>(r));
    CHECK(std::get<Error>(r).code == Errc::session_id_mismatch);

    // Too large is known from the header alone, before any body byte.
    FrameReader small(DecodeLimits{64});
    small.feed(from_hex("55 04 00000001 0100"));
    r = small.next();
    REQUIRE(std::holds_alternative<Error>(r));
    CHECK(std::get<Error>(r).code == Errc::message_too_large);
}

TEST_CASE("an error is final: the reader keeps returning it") {
    FrameReader reader({}, sid);
    reader.feed(from_hex("55 02 11223344 0004 0e 0001 00"));  // unknown tag 14
    auto first = reader.next();
    REQUIRE(std::holds_alternative<Error>(first));
    CHECK(std::get<Error>(first).code == Errc::unknown_tag);
    reader.feed(encode(Message(Command::request_in_progress, sid)));
    auto again = reader.next();
    REQUIRE(std::holds_alternative<Error>(again));
    CHECK(std::get<Error>(again).code == Errc::unknown_tag);
    REQUIRE(reader.end_of_stream().has_value());
    CHECK(reader.end_of_stream()->code == Errc::unknown_tag);
}

TEST_CASE("the session id can be set once the server has chosen it") {
    FrameReader reader;
    reader.feed(encode(Message(Command::auth_request, 7)));
    CHECK(std::holds_alternative<Message>(reader.next()));
    reader.expect_session_id(7);
    reader.feed(encode(Message(Command::end_session, 8)));
    auto r = reader.next();
    REQUIRE(std::holds_alternative<Error>(r));
    CHECK(std::get<Error>(r).code == Errc::session_id_mismatch);
}

TEST_CASE("the reader does not accumulate consumed bytes") {
    FrameReader reader({}, sid);
    const Bytes one = encode(sample_dialogue()[2]);
    for (int i = 0; i < 1000; ++i) {
        reader.feed(one);
        REQUIRE(std::holds_alternative<Message>(reader.next()));
        REQUIRE(reader.buffered() == 0);
    }
}

}  // namespace frame_reader_test_cases
