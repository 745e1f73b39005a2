#include "ca/proof.hpp"

#include <botan/hash.h>
#include <botan/pubkey.h>

#include <algorithm>
#include <array>

namespace capf::ca {
namespace {

const char* proof_hash_name(ProofHash h) {
    return h == ProofHash::sha1 ? "SHA-1" : "SHA-512";
}

std::vector<std::uint8_t> digest(ProofHash h, std::span<const std::uint8_t> data) {
    auto fn = Botan::HashFunction::create_or_throw(proof_hash_name(h));
    fn->update(data.data(), data.size());
    const auto out = fn->final();
    return {out.begin(), out.end()};
}

bool is_rsa(const Botan::Public_Key& key) {
    return key.algo_name() == "RSA";
}
bool is_ecdsa(const Botan::Public_Key& key) {
    return key.algo_name() == "ECDSA";
}

}  // namespace

std::vector<std::uint8_t> certificate_auth_data(const std::string& device_name,
                                                std::span<const std::uint8_t> certificate_der) {
    std::vector<std::uint8_t> data(device_name.begin(), device_name.end());
    data.push_back(0x00);
    data.insert(data.end(), certificate_der.begin(), certificate_der.end());
    return data;
}

std::vector<std::uint8_t> sudi_auth_data(std::uint32_t session_id,
                                         std::span<const std::uint8_t> sudi_certificate_der) {
    // The vector is sized once and filled by copies from an explicit 4-byte
    // array and the span: growing it byte by byte and then inserting the span
    // (even into reserved storage) made GCC 12 at -O3 report
    // stringop-overflow/overread on a reallocation path it could not rule out.
    const std::array<std::uint8_t, 4> session_id_le{
        static_cast<std::uint8_t>(session_id),
        static_cast<std::uint8_t>(session_id >> 8),
        static_cast<std::uint8_t>(session_id >> 16),
        static_cast<std::uint8_t>(session_id >> 24),
    };
    std::vector<std::uint8_t> data(session_id_le.size() + sudi_certificate_der.size());
    const auto after_id = std::copy(session_id_le.begin(), session_id_le.end(), data.begin());
    std::copy(sudi_certificate_der.begin(), sudi_certificate_der.end(), after_id);
    return data;
}

std::vector<std::uint8_t> sign_proof(const Botan::Private_Key& key,
                                     std::span<const std::uint8_t> data, ProofHash hash,
                                     Botan::RandomNumberGenerator& rng) {
    if (is_rsa(key)) {
        Botan::PK_Signer signer(key, rng, "EMSA3(Raw)");
        return signer.sign_message(digest(hash, data), rng);
    }
    Botan::PK_Signer signer(key, rng, std::string("EMSA1(") + proof_hash_name(hash) + ")",
                            Botan::DER_SEQUENCE);
    return signer.sign_message(data.data(), data.size(), rng);
}

bool verify_proof(const Botan::Public_Key& key, std::span<const std::uint8_t> data,
                  std::span<const std::uint8_t> signature, ProofHash hash) {
    try {
        if (is_rsa(key)) {
            Botan::PK_Verifier verifier(key, "EMSA3(Raw)");
            const auto d = digest(hash, data);
            return verifier.verify_message(d.data(), d.size(), signature.data(), signature.size());
        }
        if (is_ecdsa(key)) {
            Botan::PK_Verifier verifier(key, std::string("EMSA1(") + proof_hash_name(hash) + ")",
                                        Botan::DER_SEQUENCE);
            return verifier.verify_message(data.data(), data.size(), signature.data(),
                                           signature.size());
        }
    } catch (const std::exception&) {
        return false;  // a garbled signature is simply not a proof
    }
    return false;
}

}  // namespace capf::ca
