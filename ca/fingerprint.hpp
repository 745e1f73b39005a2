// Certificate fingerprints as the rest of the system uses them.
#pragma once

#include <cstdint>
#include <span>
#include <string>

namespace capf::ca {

/// MD5 of a certificate's DER as 32 lowercase hex digits: the `certHash` the
/// TFTP side writes into a phone's partial configuration (protocol/README.md,
/// sections 8 and 8.3).
std::string md5_hex(std::span<const std::uint8_t> der);
/// SHA-1 of the DER, 40 lowercase hex digits.
std::string sha1_hex(std::span<const std::uint8_t> der);
/// SHA-256 of the DER, 64 lowercase hex digits.
std::string sha256_hex(std::span<const std::uint8_t> der);

}  // namespace capf::ca
