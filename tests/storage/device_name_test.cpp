#include "storage/device_name.hpp"

#include <catch2/catch.hpp>
#include <string>

// The file's own namespace: the suite is compiled in unity batches, and its
// file-local names must not meet another file's.
namespace device_name_test_cases {

using capf::storage::canonical_device_name;

TEST_CASE("device names are stored uppercase") {
    CHECK(canonical_device_name("sep001122aabbcc") == "SEP001122AABBCC");
    CHECK(canonical_device_name("CIPC-lab_1.test") == "CIPC-LAB_1.TEST");
    CHECK(canonical_device_name(std::string(64, 'a')) == std::string(64, 'A'));
}

TEST_CASE("device names outside 1-64 of A-Za-z0-9._- are refused") {
    CHECK_FALSE(canonical_device_name(""));
    CHECK_FALSE(canonical_device_name(std::string(65, 'A')));
    for (std::string bad : {"SEP 0011", "SEP/0011", "SEP\n", "SEP;DROP", "SEP\xc3\xa9", "SEP*"}) {
        INFO(bad);
        CHECK_FALSE(canonical_device_name(bad));
    }
}

}  // namespace device_name_test_cases
