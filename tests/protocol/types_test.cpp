#include "protocol/types.hpp"

#include <catch2/catch.hpp>
#include <set>
#include <string>

// The file's own namespace: the suite is compiled in unity batches, and its
// file-local names must not meet another file's.
namespace types_test_cases {

using namespace capf::protocol;

TEST_CASE("command_from_byte knows exactly the 23 protocol commands") {
    for (int code = 0; code < 256; ++code) {
        const auto command = command_from_byte(static_cast<std::uint8_t>(code));
        if (code >= 1 && code <= 23) {
            REQUIRE(command.has_value());
            CHECK(static_cast<int>(*command) == code);
        } else {
            CHECK_FALSE(command.has_value());
        }
    }
    CHECK(command_name(Command::auth_request) == "AUTH_REQUEST");
    CHECK(command_name(Command::request_in_progress) == "REQUEST_IN_PROGRESS");
    CHECK(command_name(Command::sign_cert_response) == "SIGN_CERT_RESPONSE");
}

TEST_CASE("every command has a distinct name") {
    std::set<std::string> names;
    for (Command c : all_commands) {
        names.emplace(command_name(c));
    }
    CHECK(names.size() == all_commands.size());
    CHECK_FALSE(names.count("UNKNOWN_COMMAND"));
}

// "The protocol page" is protocol/README.md, section 4.
TEST_CASE("tag_from_byte knows exactly the element tags of the protocol page") {
    const std::set<int> known = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 16, 17, 18, 19, 20};
    for (int code = 0; code < 256; ++code) {
        const auto tag = tag_from_byte(static_cast<std::uint8_t>(code));
        CHECK(tag.has_value() == (known.count(code) == 1));
        if (tag) {
            CHECK(static_cast<int>(*tag) == code);
        }
    }
    std::set<std::string> names;
    for (Tag t : all_tags) {
        names.emplace(tag_name(t));
    }
    CHECK(names.size() == all_tags.size());
    CHECK(tag_name(Tag::sha2_signed_data) == "SHA2_SIGNED_DATA");
    CHECK(tag_name(Tag::device_name) == "DEVICE_NAME");
}

}  // namespace types_test_cases
