#pragma once

#include <botan/bigint.h>
#include <botan/rng.h>

namespace capf::ca {

/// 128 random bits, positive and non-zero: what protocol/README.md, section 7
/// asks of serials.
Botan::BigInt random_serial(Botan::RandomNumberGenerator& rng);

}  // namespace capf::ca
