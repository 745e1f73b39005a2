// The TVS frame reader: any split of the stream gives the same messages, a
// header split across reads included (the known open implementation drops
// such a client); and the committed TVS fuzz seeds.
#include <catch2/catch.hpp>
#include <filesystem>
#include <random>
#include <set>

#include "protocol/tvs_message.hpp"
#include "tests/protocol/read_file.hpp"

// The file's own namespace: the suite is compiled in unity batches, and its
// file-local names must not meet another file's.
namespace tvs_frame_reader_test_cases {

using namespace capf::protocol::tvs;
using capf::protocol::Bytes;
using capf::protocol::NeedMoreBytes;

namespace {

VerifyRequest request(std::uint32_t sid) {
    Bytes der(900, 0x30);
    der[1] = static_cast<std::uint8_t>(sid);
    return VerifyRequest{sid, "CP-8845-SEP001122AABBCC", der};
}

/// Feeds `stream` in chunks of `chunk` bytes, draining after each feed.
std::vector<Message> read_in_chunks(FrameReader& reader, const Bytes& stream, std::size_t chunk) {
    std::vector<Message> got;
    for (std::size_t at = 0; at < stream.size(); at += chunk) {
        const std::size_t n = std::min(chunk, stream.size() - at);
        reader.feed(std::span(stream).subspan(at, n));
        for (;;) {
            auto r = reader.next();
            if (auto* m = std::get_if<Message>(&r)) {
                got.push_back(std::move(*m));
            } else if (auto* e = std::get_if<Error>(&r)) {
                FAIL("unexpected error " << e->message());
            } else {
                break;
            }
        }
    }
    return got;
}

}  // namespace

TEST_CASE("TVS reader: a request fed one byte at a time") {
    const Bytes wire = encode(request(1));
    FrameReader reader(Limits{}, Command::verify_request);
    for (std::size_t i = 0; i + 1 < wire.size(); ++i) {
        reader.feed(std::span(wire).subspan(i, 1));
        REQUIRE(std::holds_alternative<NeedMoreBytes>(reader.next()));
    }
    reader.feed(std::span(wire).last(1));
    auto r = reader.next();
    REQUIRE(std::holds_alternative<Message>(r));
    CHECK(std::get<VerifyRequest>(std::get<Message>(r)) == request(1));
    CHECK(std::holds_alternative<NeedMoreBytes>(reader.next()));
    CHECK(reader.buffered() == 0);
    CHECK_FALSE(reader.end_of_stream().has_value());
}

TEST_CASE("TVS reader: two requests in one buffer") {
    Bytes stream = encode(request(1));
    const Bytes second = encode(request(2));
    stream.insert(stream.end(), second.begin(), second.end());
    FrameReader reader;
    reader.feed(stream);
    auto a = reader.next();
    auto b = reader.next();
    REQUIRE(std::holds_alternative<Message>(a));
    REQUIRE(std::holds_alternative<Message>(b));
    CHECK(std::get<VerifyRequest>(std::get<Message>(a)) == request(1));
    CHECK(std::get<VerifyRequest>(std::get<Message>(b)) == request(2));
    CHECK(std::holds_alternative<NeedMoreBytes>(reader.next()));
}

TEST_CASE("TVS reader: every chunk size gives the same messages") {
    Bytes stream;
    std::vector<Message> sent = {request(1), VerifyResponse{1, Status::valid, {0, 1, 2, 21}, 3600},
                                 request(2), VerifyResponse{2, Status::invalid, {}, std::nullopt}};
    for (const auto& m : sent) {
        const Bytes wire = encode(m);
        stream.insert(stream.end(), wire.begin(), wire.end());
    }
    for (std::size_t chunk : std::vector<std::size_t>{1, 2, 3, 9, 10, 11, 13, 64, 937, 4096}) {
        INFO("chunk " << chunk);
        FrameReader reader;
        CHECK(read_in_chunks(reader, stream, chunk) == sent);
    }
    std::mt19937 random(34);
    for (int run = 0; run < 50; ++run) {
        FrameReader reader;
        std::vector<Message> got;
        for (std::size_t at = 0; at < stream.size();) {
            const std::size_t n = std::min<std::size_t>(1 + random() % 40, stream.size() - at);
            const auto slice = std::span<const std::uint8_t>(stream).subspan(at, n);
            const Bytes piece(slice.begin(), slice.end());
            const auto part = read_in_chunks(reader, piece, n);
            got.insert(got.end(), part.begin(), part.end());
            at += n;
        }
        CHECK(got == sent);
    }
}

TEST_CASE("TVS reader: an error is final, and further bytes are not held") {
    FrameReader reader;
    reader.feed(Bytes{0x57, 0x01, 0x09});
    auto r = reader.next();
    REQUIRE(std::holds_alternative<Error>(r));
    CHECK(std::get<Error>(r).code == Errc::unknown_command);
    reader.feed(encode(request(1)));
    auto again = reader.next();
    REQUIRE(std::holds_alternative<Error>(again));
    CHECK(std::get<Error>(again).code == Errc::unknown_command);
    CHECK(reader.end_of_stream()->code == Errc::unknown_command);
}

TEST_CASE("TVS reader: a header announcing too large a body fails before the body comes") {
    FrameReader reader;
    reader.feed(Bytes{0x57, 0x01, 0x01, 0x00, 0, 0, 0, 1, 0xFF, 0xFF});
    auto r = reader.next();
    REQUIRE(std::holds_alternative<Error>(r));
    CHECK(std::get<Error>(r).code == Errc::body_too_large);
}

TEST_CASE("TVS reader: a server's reader refuses an answer on its header") {
    FrameReader reader(Limits{}, Command::verify_request);
    const Bytes answer = encode(VerifyResponse{1, Status::invalid, {}, std::nullopt});
    reader.feed(std::span(answer).first(header_size));
    auto r = reader.next();
    REQUIRE(std::holds_alternative<Error>(r));
    CHECK(std::get<Error>(r).code == Errc::unexpected_command);
}

TEST_CASE("TVS reader: a body shorter than announced runs into the next message") {
    Bytes first = encode(request(1));
    // Body and certificate lengths one short: the last DER byte is left over.
    first[9] = static_cast<std::uint8_t>(first[9] - 1);
    REQUIRE(first[37] == 2);
    first[39] = static_cast<std::uint8_t>(first[39] - 1);
    FrameReader reader;
    reader.feed(first);
    auto r = reader.next();
    REQUIRE(std::holds_alternative<Message>(r));  // a 1-byte-shorter certificate
    auto next = reader.next();
    REQUIRE(std::holds_alternative<Error>(next));  // 0x30 is not the protocol id
    CHECK(std::get<Error>(next).code == Errc::wrong_protocol_id);
}

TEST_CASE("TVS: the fuzz seed corpus holds a request, a valid and an invalid answer") {
    std::set<std::string> kinds;
    for (const auto& entry : std::filesystem::directory_iterator(CAPF_TVS_FUZZ_CORPUS_DIR)) {
        const std::string name = entry.path().filename().string();
        INFO("seed " << name);
        const Bytes bytes = capf::test::read_file(entry.path().string());
        FrameReader reader;
        reader.feed(bytes);
        int messages = 0;
        for (auto r = reader.next(); std::holds_alternative<Message>(r); r = reader.next()) {
            ++messages;
            const auto& m = std::get<Message>(r);
            if (const auto* a = std::get_if<VerifyResponse>(&m)) {
                kinds.insert(a->valid() ? "valid" : "invalid");
            } else {
                kinds.insert("request");
            }
        }
        CHECK(messages >= 1);
        CHECK_FALSE(reader.end_of_stream().has_value());
    }
    CHECK(kinds == std::set<std::string>{"request", "valid", "invalid"});
}

}  // namespace tvs_frame_reader_test_cases
