// TFTP signing identities for the tests of the TFTP side: made once per CN
// (RSA key generation is slow) and kept for the whole run.
#pragma once

#include <catch2/catch.hpp>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <string>
#include <vector>

#include "ca/identity.hpp"

namespace capf::test {

/// Made once per CN and never destroyed (Botan's secure allocator, which
/// holds the keys, may be gone before a static of ours would be).
inline const ca::Identity& identity(const std::string& common_name,
                                    ca::KeySpec key = {ca::KeySpec::Algorithm::rsa, 1024},
                                    ca::IdentityRole role = ca::IdentityRole::tftp) {
    static auto* cache = new std::map<std::string, ca::Identity>();
    auto it = cache->find(common_name);
    if (it == cache->end()) {
        ca::IdentityProfile profile;
        profile.common_name = common_name;
        profile.key = key;
        profile.role = role;
        it = cache->emplace(common_name, ca::generate_identity(profile)).first;
    }
    return it->second;
}

inline std::vector<std::uint8_t> read_file(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    REQUIRE(in);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

}  // namespace capf::test
