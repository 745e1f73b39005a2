#include "ca/public_key.hpp"

#include <botan/ecc_key.h>
#include <botan/x509_key.h>

#include <memory>
#include <vector>

#include "ca/error.hpp"

namespace capf::ca {

KeySpec describe_public_key(std::span<const std::uint8_t> spki_der) {
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
    KeySpec spec;
    const std::string algo = key->algo_name();
    if (algo == "RSA") {
        spec = {KeySpec::Algorithm::rsa, static_cast<unsigned>(key->key_length())};
    } else if (const auto* ec = dynamic_cast<const Botan::EC_PublicKey*>(key.get())) {
        const auto oid = ec->domain().get_curve_oid().to_formatted_string();
        unsigned bits = 0;
        if (oid == "secp256r1")
            bits = 256;
        if (oid == "secp384r1")
            bits = 384;
        if (oid == "secp521r1")
            bits = 521;
        if (bits == 0) {
            throw CaError(CaErrc::key_mismatch, "EC key on curve " + oid +
                                                    " is not one phones use (P-256, P-384, P-521)");
        }
        spec = {KeySpec::Algorithm::ec, bits};
    } else {
        throw CaError(CaErrc::key_mismatch,
                      "public key algorithm " + algo + " is neither RSA nor EC");
    }
    if (!is_one_of(spec, phone_key_specs())) {
        throw CaError(CaErrc::key_mismatch, spec.text() + " is not a key phones are asked for (" +
                                                key_spec_list(phone_key_specs()) + ")");
    }
    return spec;
}

}  // namespace capf::ca
