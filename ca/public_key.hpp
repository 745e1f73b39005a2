// What a phone's public key is, read from its SubjectPublicKeyInfo.
#pragma once

#include <cstdint>
#include <span>

#include "ca/key_spec.hpp"

namespace capf::ca {

/// What a SubjectPublicKeyInfo holds. Throws CaError(malformed_public_key)
/// when it does not parse, CaError(key_mismatch) for a key that is not one
/// of phone_key_specs().
KeySpec describe_public_key(std::span<const std::uint8_t> spki_der);

}  // namespace capf::ca
