// The keys phones generate: RSA of a given size or EC on a named curve.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace capf::ca {

struct KeySpec {
    enum class Algorithm { rsa, ec };
    Algorithm algorithm = Algorithm::rsa;
    /// RSA modulus bits (512, 1024, 2048, 3072, 4096) or the EC field size
    /// (256, 384, 521).
    unsigned bits = 2048;

    /// "rsa-2048", "ec-p256"
    std::string text() const;
    friend bool operator==(const KeySpec&, const KeySpec&) = default;
};

/// Parses "rsa-2048", "ec-p384", ...; nothing for anything phones cannot do.
std::optional<KeySpec> parse_key_spec(std::string_view text);

/// What a SubjectPublicKeyInfo holds. Throws CaError(malformed_public_key)
/// when it does not parse, CaError(key_mismatch) for a key that is neither
/// an RSA key of a supported size nor an EC key on a supported curve.
KeySpec describe_public_key(std::span<const std::uint8_t> spki_der);

}  // namespace capf::ca
