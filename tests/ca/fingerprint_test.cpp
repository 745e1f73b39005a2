#include "ca/fingerprint.hpp"

#include <catch2/catch.hpp>
#include <string_view>
#include <vector>

// The file's own namespace: the suite is compiled in unity batches, and its
// file-local names must not meet another file's.
namespace fingerprint_test_cases {

using namespace capf::ca;

namespace {
std::vector<std::uint8_t> bytes(std::string_view s) {
    return {s.begin(), s.end()};
}
}  // namespace

TEST_CASE("fingerprints are lowercase hex of the standard digests") {
    // RFC 1321 / FIPS 180 test vectors for "abc".
    CHECK(md5_hex(bytes("abc")) == "900150983cd24fb0d6963f7d28e17f72");
    CHECK(sha1_hex(bytes("abc")) == "a9993e364706816aba3e25717850c26c9cd0d89d");
    CHECK(sha256_hex(bytes("abc")) ==
          "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    CHECK(md5_hex({}) == "d41d8cd98f00b204e9800998ecf8427e");
    CHECK(md5_hex(bytes("abc")).size() == 32);
}

}  // namespace fingerprint_test_cases
