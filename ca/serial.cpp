#include "ca/serial.hpp"

#include <array>

namespace capf::ca {

Botan::BigInt random_serial(Botan::RandomNumberGenerator& rng) {
    std::array<std::uint8_t, 16> bytes{};
    do {
        rng.randomize(bytes.data(), bytes.size());
        // Clear the top bit so the DER INTEGER stays positive in 16 bytes.
        bytes[0] &= 0x7F;
    } while (Botan::BigInt(bytes.data(), bytes.size()).is_zero());
    return Botan::BigInt(bytes.data(), bytes.size());
}

}  // namespace capf::ca
