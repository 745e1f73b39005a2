// An independent reader of SEP<MAC>.cnf.xml.enc.sgn, written from
// protocol/README.md section 8 alone, the way a phone would read the file.
// It deliberately uses nothing from protocol/signed_file or ca/tftp_files,
// so that a mistake shared by writer and parser cannot hide here.
#pragma once

#include <botan/cipher_mode.h>
#include <botan/hash.h>
#include <botan/pk_keys.h>
#include <botan/pubkey.h>
#include <botan/rng.h>

#include <cstdint>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

namespace capf::test {

struct DecryptedConfig {
    std::size_t header_length = 0;
    std::string xml;
};

namespace tftp_reader_detail {

using Bytes = std::vector<std::uint8_t>;

inline std::size_t u16(const Bytes& b, std::size_t at) {
    if (at + 2 > b.size())
        throw std::runtime_error("reader: 16-bit value past the end");
    return (std::size_t{b[at]} << 8) | b[at + 1];
}

/// tag -> value of the elements in [from, to); padding (13) is one byte.
inline std::map<int, Bytes> elements(const Bytes& b, std::size_t from, std::size_t to) {
    std::map<int, Bytes> out;
    std::size_t i = from;
    while (i < to) {
        if (b[i] == 13) {
            ++i;
            continue;
        }
        const std::size_t length = u16(b, i + 1);
        if (i + 3 + length > to)
            throw std::runtime_error("reader: element " + std::to_string(b[i]) + " overruns");
        out[b[i]] = Bytes(b.begin() + static_cast<std::ptrdiff_t>(i + 3),
                          b.begin() + static_cast<std::ptrdiff_t>(i + 3 + length));
        i += 3 + length;
    }
    return out;
}

inline const Bytes& need(const std::map<int, Bytes>& m, int tag) {
    const auto it = m.find(tag);
    if (it == m.end())
        throw std::runtime_error("reader: element " + std::to_string(tag) + " missing");
    return it->second;
}

}  // namespace tftp_reader_detail

/// Decrypts an .enc.sgn with the phone's private key, checking what section
/// 8 promises on the way: header length a multiple of 4, the pad count of
/// tag 20 made of '\r' bytes, the digest of tags 26/27. Throws on any
/// mismatch.
inline DecryptedConfig read_encrypted_config(const std::vector<std::uint8_t>& file,
                                             const Botan::Private_Key& phone_key,
                                             Botan::RandomNumberGenerator& rng) {
    using namespace tftp_reader_detail;
    if (file.size() < 10 || file[0] != 1 || file[5] != 2)
        throw std::runtime_error("reader: not a signed file");
    if (file[3] != 2 || file[4] != 0)
        throw std::runtime_error("reader: version is not 2.0");
    const std::size_t header_length = u16(file, 8);
    if (header_length % 4 != 0)
        throw std::runtime_error("reader: header length not a multiple of 4");
    if (header_length > file.size())
        throw std::runtime_error("reader: header longer than the file");
    const auto top = elements(file, 10, header_length);
    const auto encryption = elements(need(top, 16), 0, need(top, 16).size());
    const auto iv_info = elements(need(encryption, 17), 0, need(encryption, 17).size());
    const auto key_info = elements(need(encryption, 21), 0, need(encryption, 21).size());
    const Bytes& iv = need(iv_info, 19);
    const std::size_t pad_count = u16(need(iv_info, 20), 0);
    const Bytes& wrapped = need(key_info, 25);
    if (u16(need(key_info, 23), 0) != wrapped.size() * 8)
        throw std::runtime_error("reader: tag 23 is not the wrapped key's size in bits");

    Botan::PK_Decryptor_EME unwrapper(phone_key, rng, "EME-PKCS1-v1_5");
    const Botan::secure_vector<std::uint8_t> aes_key = unwrapper.decrypt(wrapped);
    if (aes_key.size() != 16)
        throw std::runtime_error("reader: unwrapped key is not 16 bytes");
    Botan::secure_vector<std::uint8_t> data(
        file.begin() + static_cast<std::ptrdiff_t>(header_length), file.end());
    if (data.empty() || data.size() % 16 != 0)
        throw std::runtime_error("reader: ciphertext is not whole AES blocks");
    auto aes = Botan::Cipher_Mode::create_or_throw("AES-128/CBC/NoPadding", Botan::DECRYPTION);
    aes->set_key(aes_key);
    aes->start(iv);
    aes->finish(data);
    if (pad_count < 1 || pad_count > 16 || pad_count > data.size())
        throw std::runtime_error("reader: pad count " + std::to_string(pad_count));
    for (std::size_t i = data.size() - pad_count; i < data.size(); ++i) {
        if (data[i] != '\r')
            throw std::runtime_error("reader: padding byte is not \\r");
    }
    DecryptedConfig out;
    out.header_length = header_length;
    out.xml.assign(data.begin(), data.end() - static_cast<std::ptrdiff_t>(pad_count));

    const Bytes& digest_algorithm = need(top, 26);
    if (digest_algorithm.size() != 1 || (digest_algorithm[0] != 1 && digest_algorithm[0] != 3))
        throw std::runtime_error("reader: digest algorithm unknown");
    auto hash =
        Botan::HashFunction::create_or_throw(digest_algorithm[0] == 1 ? "SHA-1" : "SHA-512");
    hash->update(out.xml);
    if (hash->final_stdvec() != need(top, 27))
        throw std::runtime_error("reader: digest of the plaintext does not match tag 27");
    return out;
}

}  // namespace capf::test
