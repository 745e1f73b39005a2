// The keys phones generate (RSA of a given size or EC on a named curve) and
// the keys a CAPF identity may have. Plain values with no Botan types: the
// service, its configuration and capfctl's build use them without Botan
// (CMake target capf_ca_key_spec).
#pragma once

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

/// Every key a phone can be asked to generate. This is the one list: the
/// configuration, the admin methods, issuance and the database's CHECK
/// constraint (migration 1, compared by a test) all accept exactly these.
std::span<const KeySpec> phone_key_specs() noexcept;

/// The keys a CAPF identity may have (`capfd init --key`): no RSA below
/// 2048 bits, which current phones and TLS clients refuse from a CA, and no
/// P-521, which old phones cannot verify.
std::span<const KeySpec> identity_key_specs() noexcept;

/// "rsa-512, rsa-1024, ..." for messages that say what is allowed.
std::string key_spec_list(std::span<const KeySpec> specs);

/// Parses one of phone_key_specs(); nothing for anything else.
std::optional<KeySpec> parse_key_spec(std::string_view text);

/// Parses one of identity_key_specs(); nothing for anything else.
std::optional<KeySpec> parse_identity_key_spec(std::string_view text);

/// True when `spec` is in `specs`.
bool is_one_of(const KeySpec& spec, std::span<const KeySpec> specs) noexcept;

}  // namespace capf::ca
