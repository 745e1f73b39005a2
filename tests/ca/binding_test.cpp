// A MIC binds to a device by SEP<MAC> (or the MAC) as a whole token, never
// as a substring of a longer run of hex digits or letters.
#include "ca/binding.hpp"

#include <catch2/catch.hpp>

// The file's own namespace: the suite is compiled in unity batches, and its
// file-local names must not meet another file's.
namespace binding_test_cases {

using capf::ca::names_device;

TEST_CASE("names_device: SEP<MAC> as a whole token binds") {
    CHECK(names_device("CP-7962G-SEP001122334455", "SEP001122334455"));
    CHECK(names_device("SEP001122334455", "SEP001122334455"));
    CHECK(names_device("SEP001122334455-extra", "SEP001122334455"));
    CHECK(names_device("model_SEP001122334455 x", "SEP001122334455"));
}

TEST_CASE("names_device: the bare MAC as a whole token binds") {
    CHECK(names_device("CP-8845 001122334455", "SEP001122334455"));
    CHECK(names_device("001122334455", "SEP001122334455"));
}

TEST_CASE("names_device: case is ignored on both sides") {
    CHECK(names_device("cp-7962g-sep00aabbccddee", "SEP00AABBCCDDEE"));
    CHECK(names_device("CP-7962G-SEP00AABBCCDDEE", "sep00aabbccddee"));
}

TEST_CASE("names_device: the MAC inside a longer token does not bind (substring attacks)") {
    CHECK_FALSE(names_device("CP-7962G-SEP00112233445566", "SEP001122334455"));
    CHECK_FALSE(names_device("X001122334455F", "SEP001122334455"));
    CHECK_FALSE(names_device("SEPAB001122334455", "SEP001122334455"));
    CHECK_FALSE(names_device("AB001122334455", "SEP001122334455"));
    CHECK_FALSE(names_device("SEP0011223344556", "SEP001122334455"));
    CHECK_FALSE(names_device("9001122334455", "SEP001122334455"));
    // A byte outside ASCII does not split a token.
    CHECK_FALSE(
        names_device("\xC3\xA9"
                     "001122334455",
                     "SEP001122334455"));
}

TEST_CASE("names_device: another device's MAC does not bind") {
    CHECK_FALSE(names_device("CP-7962G-SEP00AABBCCDDEE", "SEP001122334455"));
    CHECK_FALSE(names_device("CP-7962G-SEP00112233445", "SEP001122334455"));
    CHECK_FALSE(names_device("", "SEP001122334455"));
}

TEST_CASE("names_device: a device name without a clean MAC binds nothing") {
    // The 12 hex digits must not continue a longer run of hex digits.
    CHECK_FALSE(names_device("SEPAB001122334455", "SEPAB001122334455"));
    CHECK_FALSE(names_device("AB001122334455", "SEPAB001122334455"));
    CHECK_FALSE(names_device("001122334455", "SEPAB001122334455"));
    // Too short, or not hex.
    CHECK_FALSE(names_device("SEP0011", "SEP0011"));
    CHECK_FALSE(names_device("CIPCdesk", "CIPCdesk"));
    CHECK_FALSE(names_device("SEP00112233445G", "SEP00112233445G"));
    CHECK_FALSE(names_device("anything", ""));
    // A name that is only the MAC has one.
    CHECK(names_device("SEP001122334455", "001122334455"));
}

}  // namespace binding_test_cases
