#pragma once
// Shared by the seed writers (make_seeds, make_dialogue_seeds): one corpus
// file per seed, its bytes exactly.

#include <cstdint>
#include <fstream>
#include <string>
#include <vector>

namespace capf::fuzz {

inline bool write_seed_file(const std::string& path, const std::vector<std::uint8_t>& bytes) {
    std::ofstream out(path, std::ios::binary);
    out.write(reinterpret_cast<const char*>(bytes.data()),
              static_cast<std::streamsize>(bytes.size()));
    return static_cast<bool>(out);
}

}  // namespace capf::fuzz
