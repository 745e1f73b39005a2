#include "ca/public_key.hpp"

#include <botan/ber_dec.h>
#include <botan/ecc_key.h>
#include <botan/oids.h>
#include <botan/x509_key.h>

#include <memory>
#include <vector>

#include "ca/error.hpp"

namespace capf::ca {
namespace {

/// The modulus size of an RSA SubjectPublicKeyInfo, read from its DER;
/// nothing for another algorithm. Loading it as a Botan key would also set
/// up Montgomery parameters (a constant-time division, a tenth of an
/// install's CPU in a profile) that issuing never uses. The same checks as
/// Botan's loader: n >= 5 and odd, e >= 2. Throws Botan::Decoding_Error.
std::optional<std::size_t> rsa_modulus_bits(std::span<const std::uint8_t> spki_der) {
    Botan::AlgorithmIdentifier algorithm;
    std::vector<std::uint8_t> key_bits;
    Botan::BER_Decoder(spki_der.data(), spki_der.size())
        .start_cons(Botan::SEQUENCE)
        .decode(algorithm)
        .decode(key_bits, Botan::BIT_STRING)
        .end_cons()
        .verify_end();
    static const Botan::OID rsa = Botan::OID::from_string("RSA");
    if (algorithm.get_oid() != rsa)
        return std::nullopt;
    Botan::BigInt n, e;
    Botan::BER_Decoder(key_bits)
        .start_cons(Botan::SEQUENCE)
        .decode(n)
        .decode(e)
        .end_cons()
        .verify_end();
    if (n < 5 || n.is_even() || e < 2)
        throw Botan::Decoding_Error("invalid RSA public key parameters");
    return n.bits();
}

/// What a key other than RSA is, loaded by Botan (EC points are checked to
/// lie on their curve).
KeySpec loaded_key_spec(std::span<const std::uint8_t> spki_der) {
    std::unique_ptr<Botan::Public_Key> key;
    try {
        key.reset(
            Botan::X509::load_key(std::vector<std::uint8_t>(spki_der.begin(), spki_der.end())));
    } catch (const std::exception& e) {
        throw CaError(CaErrc::malformed_public_key,
                      std::string("public key is not a valid SubjectPublicKeyInfo: ") + e.what());
    }
    if (!key) {
        throw CaError(CaErrc::malformed_public_key,
                      "public key is not a valid SubjectPublicKeyInfo");
    }
    const auto* ec = dynamic_cast<const Botan::EC_PublicKey*>(key.get());
    if (ec == nullptr) {
        throw CaError(CaErrc::key_mismatch,
                      "public key algorithm " + key->algo_name() + " is neither RSA nor EC");
    }
    const auto oid = ec->domain().get_curve_oid().to_formatted_string();
    unsigned bits = 0;
    if (oid == "secp256r1")
        bits = 256;
    if (oid == "secp384r1")
        bits = 384;
    if (oid == "secp521r1")
        bits = 521;
    if (bits == 0) {
        throw CaError(CaErrc::key_mismatch,
                      "EC key on curve " + oid + " is not one phones use (P-256, P-384, P-521)");
    }
    return {KeySpec::Algorithm::ec, bits};
}

}  // namespace

KeySpec describe_public_key(std::span<const std::uint8_t> spki_der) {
    std::optional<std::size_t> rsa_bits;
    try {
        rsa_bits = rsa_modulus_bits(spki_der);
    } catch (const std::exception& e) {
        throw CaError(CaErrc::malformed_public_key,
                      std::string("public key is not a valid SubjectPublicKeyInfo: ") + e.what());
    }
    const KeySpec spec = rsa_bits
                             ? KeySpec{KeySpec::Algorithm::rsa, static_cast<unsigned>(*rsa_bits)}
                             : loaded_key_spec(spki_der);
    if (!is_one_of(spec, phone_key_specs())) {
        throw CaError(CaErrc::key_mismatch, spec.text() + " is not a key phones are asked for (" +
                                                key_spec_list(phone_key_specs()) + ")");
    }
    return spec;
}

}  // namespace capf::ca
