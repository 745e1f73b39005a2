#include "ca/fingerprint.hpp"

#include <botan/hash.h>
#include <botan/hex.h>

namespace capf::ca {
namespace {

std::string hash_hex(const char* algorithm, std::span<const std::uint8_t> der) {
    auto hash = Botan::HashFunction::create_or_throw(algorithm);
    hash->update(der.data(), der.size());
    return Botan::hex_encode(hash->final(), false);
}

}  // namespace

std::string md5_hex(std::span<const std::uint8_t> der) {
    return hash_hex("MD5", der);
}
std::string sha1_hex(std::span<const std::uint8_t> der) {
    return hash_hex("SHA-1", der);
}
std::string sha256_hex(std::span<const std::uint8_t> der) {
    return hash_hex("SHA-256", der);
}

}  // namespace capf::ca
