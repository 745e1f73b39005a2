// Runs the data-file vectors of tests/data/protocol-vectors.json (the layouts
// of protocol/README.md, sections 2-4).
#include <catch2/catch.hpp>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <string>

#include "protocol/decoder.hpp"
#include "tests/protocol/hex.hpp"

// The file's own namespace: the suite is compiled in unity batches, and its
// file-local names must not meet another file's.
namespace vectors_test_cases {

using namespace capf::protocol;
using capf::test::from_hex;
using capf::test::to_hex;

namespace {

/// The keys a vector may carry; anything else is a typo that would otherwise
/// be silently ignored (e.g. a misspelt expected_session_id).
const std::set<std::string> known_keys{"name",
                                       "hex",
                                       "expected_session_id",
                                       "max_message_size",
                                       "command",
                                       "session_id",
                                       "elements",
                                       "error",
                                       "offset"};

/// Every error decode_message can produce, which each need a vector: all
/// codes but missing_element (an accessor's) and value_too_large (encoding's).
std::set<std::string> decoder_errors() {
    std::set<std::string> out;
    for (int c = static_cast<int>(Errc::wrong_protocol_id);
         c <= static_cast<int>(Errc::value_too_large); ++c) {
        const auto code = static_cast<Errc>(c);
        if (code != Errc::missing_element && code != Errc::value_too_large) {
            out.emplace(errc_name(code));
        }
    }
    return out;
}

}  // namespace

TEST_CASE("protocol test vectors decode to their fields or their error") {
    std::ifstream in(CAPF_TEST_DATA_DIR "/protocol-vectors.json");
    REQUIRE(in.good());
    const auto doc = nlohmann::json::parse(in);
    const auto& vectors = doc.at("vectors");
    REQUIRE(vectors.is_array());
    REQUIRE(vectors.size() >= 20);

    const auto decodable_errors = decoder_errors();
    std::set<std::string> names;
    std::set<std::string> errors_seen;
    std::size_t decoded_vectors = 0;
    std::size_t error_vectors = 0;
    std::size_t matched = 0;  // vectors whose every expectation held

    for (const auto& v : vectors) {
        const std::string name = v.at("name");
        INFO("vector: " << name);
        CHECK(names.insert(name).second);  // names identify failures: keep them unique
        for (const auto& [key, value] : v.items()) {
            INFO("key: " << key);
            CHECK(known_keys.count(key) == 1);
        }
        // A vector expects either an error or decoded fields, never both.
        REQUIRE(v.contains("error") != v.contains("command"));

        const Bytes wire = from_hex(v.at("hex").get<std::string>());
        DecodeLimits limits;
        if (v.contains("max_message_size")) {
            limits.max_message_size = v.at("max_message_size").get<std::size_t>();
        }
        std::optional<std::uint32_t> expected_sid;
        if (v.contains("expected_session_id")) {
            expected_sid = v.at("expected_session_id").get<std::uint32_t>();
        }
        const auto decoded = decode_message(wire, limits, expected_sid);

        bool ok = true;
        if (v.contains("error")) {
            ++error_vectors;
            const std::string expected_error = v.at("error");
            errors_seen.insert(expected_error);
            CHECK(decodable_errors.count(expected_error) == 1);
            const auto* e = std::get_if<Error>(&decoded);
            CHECK(e != nullptr);
            if (e == nullptr) {
                continue;
            }
            const std::string actual_error(errc_name(e->code));
            const std::size_t expected_offset = v.at("offset").get<std::size_t>();
            CHECK(actual_error == expected_error);
            CHECK(e->offset == expected_offset);
            ok = actual_error == expected_error && e->offset == expected_offset;
        } else {
            ++decoded_vectors;
            if (const auto* e = std::get_if<Error>(&decoded)) {
                FAIL_CHECK("unexpected error " << e->message());
                continue;
            }
            const Message& m = std::get<Message>(decoded);
            const std::string actual_command(command_name(m.command()));
            const std::string expected_command = v.at("command");
            const auto expected_session = v.at("session_id").get<std::uint32_t>();
            CHECK(actual_command == expected_command);
            CHECK(m.session_id() == expected_session);
            ok = actual_command == expected_command && m.session_id() == expected_session;
            const auto& elements = v.at("elements");
            CHECK(m.elements().size() == elements.size());
            if (m.elements().size() != elements.size()) {
                continue;
            }
            for (std::size_t i = 0; i < elements.size(); ++i) {
                INFO("element " << i);
                const std::string actual_tag(tag_name(m.elements()[i].tag));
                const std::string actual_value = to_hex(m.elements()[i].value);
                const std::string expected_tag = elements[i].at(0);
                const std::string expected_value =
                    to_hex(from_hex(elements[i].at(1).get<std::string>()));
                CHECK(actual_tag == expected_tag);
                CHECK(actual_value == expected_value);
                ok = ok && actual_tag == expected_tag && actual_value == expected_value;
            }
            // Decoding then encoding gives back the exact wire bytes.
            const Bytes reencoded = encode(m);
            CHECK(reencoded == wire);
            ok = ok && reencoded == wire;
        }
        if (ok) {
            ++matched;
        }
    }

    // Both kinds are exercised, every vector met its expectations, and every
    // error the decoder can report is pinned by at least one vector.
    CHECK(decoded_vectors > 0);
    CHECK(error_vectors > 0);
    CHECK(matched == vectors.size());
    for (const auto& code : decodable_errors) {
        INFO("decoder error without a vector: " << code);
        CHECK(errors_seen.count(code) == 1);
    }
}

}  // namespace vectors_test_cases
