// Runs the data-file vectors of tests/data/protocol-vectors.json.
#include <catch2/catch.hpp>
#include <fstream>
#include <nlohmann/json.hpp>

#include "protocol/decoder.hpp"
#include "tests/protocol/hex.hpp"

using namespace capf::protocol;
using capf::test::from_hex;
using capf::test::to_hex;

TEST_CASE("protocol test vectors decode to their fields or their error") {
    std::ifstream in(CAPF_TEST_DATA_DIR "/protocol-vectors.json");
    REQUIRE(in.good());
    const auto doc = nlohmann::json::parse(in);
    const auto& vectors = doc.at("vectors");
    REQUIRE(vectors.size() >= 20);
    std::size_t checked = 0;
    for (const auto& v : vectors) {
        const std::string name = v.at("name");
        INFO("vector: " << name);
        const Bytes wire = from_hex(v.at("hex").get<std::string>());
        DecodeLimits limits;
        if (v.contains("max_message_size")) {
            limits.max_message_size = v.at("max_message_size").get<std::size_t>();
        }
        std::optional<std::uint32_t> expected_sid;
        if (v.contains("expected_session_id")) {
            expected_sid = v.at("expected_session_id").get<std::uint32_t>();
        }
        auto decoded = decode_message(wire, limits, expected_sid);
        if (v.contains("error")) {
            REQUIRE(std::holds_alternative<Error>(decoded));
            const Error& e = std::get<Error>(decoded);
            CHECK(errc_name(e.code) == v.at("error").get<std::string>());
            CHECK(e.offset == v.at("offset").get<std::size_t>());
        } else {
            if (auto* e = std::get_if<Error>(&decoded)) {
                FAIL("unexpected error " << e->message());
            }
            const Message& m = std::get<Message>(decoded);
            CHECK(command_name(m.command()) == v.at("command").get<std::string>());
            CHECK(m.session_id() == v.at("session_id").get<std::uint32_t>());
            const auto& elements = v.at("elements");
            REQUIRE(m.elements().size() == elements.size());
            for (std::size_t i = 0; i < elements.size(); ++i) {
                CHECK(tag_name(m.elements()[i].tag) == elements[i].at(0).get<std::string>());
                CHECK(to_hex(m.elements()[i].value) ==
                      to_hex(from_hex(elements[i].at(1).get<std::string>())));
            }
            CHECK(encode(m) == wire);
        }
        ++checked;
    }
    CHECK(checked == vectors.size());
}
