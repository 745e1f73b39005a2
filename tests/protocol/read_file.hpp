#pragma once

#include <fstream>
#include <iterator>
#include <stdexcept>
#include <string>

#include "protocol/types.hpp"

namespace capf::test {

inline protocol::Bytes read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        throw std::runtime_error("cannot open test file " + path);
    }
    return protocol::Bytes(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

}  // namespace capf::test
