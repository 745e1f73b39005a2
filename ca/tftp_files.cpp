#include "ca/tftp_files.hpp"

#include <botan/asn1_obj.h>
#include <botan/ber_dec.h>
#include <botan/cipher_mode.h>
#include <botan/der_enc.h>
#include <botan/ecc_key.h>
#include <botan/exceptn.h>
#include <botan/hash.h>
#include <botan/hex.h>
#include <botan/pubkey.h>
#include <botan/rsa.h>
#include <botan/x509_key.h>

#include <algorithm>
#include <map>
#include <memory>

#include "ca/error.hpp"
#include "ca/signer_cache.hpp"
#include "protocol/error.hpp"

namespace capf::ca {

namespace {

using protocol::Bytes;
using protocol::FileHash;

// ---- names ----

std::string escape_rfc4514(const std::string& value) {
    std::string out;
    for (std::size_t i = 0; i < value.size(); ++i) {
        const char c = value[i];
        const bool special =
            c == ',' || c == '+' || c == '"' || c == '\\' || c == '<' || c == '>' || c == ';';
        const bool edge = (i == 0 && (c == ' ' || c == '#')) || (i + 1 == value.size() && c == ' ');
        if (c == '\0') {
            out += "\\00";
            continue;
        }
        if (special || edge)
            out += '\\';
        out += c;
    }
    return out;
}

/// One attribute "type=value" of an RDN, from its AttributeTypeAndValue.
std::string attribute_text(const Botan::OID& oid, const Botan::BER_Object& value) {
    // The short names of RFC 4514, section 3; other types in dotted form with
    // the value as '#' and the hex of its BER, as that section asks.
    static const std::map<std::string, std::string> short_names = {
        {"2.5.4.3", "CN"},
        {"2.5.4.7", "L"},
        {"2.5.4.8", "ST"},
        {"2.5.4.10", "O"},
        {"2.5.4.11", "OU"},
        {"2.5.4.6", "C"},
        {"2.5.4.9", "STREET"},
        {"0.9.2342.19200300.100.1.25", "DC"},
        {"0.9.2342.19200300.100.1.1", "UID"}};
    const auto it = short_names.find(oid.to_string());
    if (it == short_names.end()) {
        std::vector<std::uint8_t> ber;
        Botan::DER_Encoder(ber).add_object(value.type(), value.get_class(), value.bits(),
                                           value.length());
        return oid.to_string() + "=#" + Botan::hex_encode(ber, false);
    }
    std::vector<std::uint8_t> ber;
    Botan::DER_Encoder(ber).add_object(value.type(), value.get_class(), value.bits(),
                                       value.length());
    Botan::ASN1_String text;
    Botan::BER_Decoder(ber).decode(text);
    return it->second + "=" + escape_rfc4514(text.value());
}

std::string hash_name(FileHash hash) {
    return hash == FileHash::sha1 ? "SHA-160" : "SHA-512";
}

// ---- keys ----

std::string key_description(const Botan::Public_Key& key) {
    if (const auto* ec = dynamic_cast<const Botan::EC_PublicKey*>(&key))
        return key.algo_name() + " on " + ec->domain().get_curve_oid().to_formatted_string();
    return key.algo_name() + " " + std::to_string(key.key_length()) + " bits";
}

std::unique_ptr<Botan::Public_Key> load_device_key(std::span<const std::uint8_t> spki_der) {
    std::unique_ptr<Botan::Public_Key> key;
    try {
        key.reset(
            Botan::X509::load_key(std::vector<std::uint8_t>(spki_der.begin(), spki_der.end())));
    } catch (const std::exception& e) {
        throw CaError(CaErrc::malformed_public_key,
                      std::string("device public key is not a SubjectPublicKeyInfo: ") + e.what());
    }
    if (!key)
        throw CaError(CaErrc::malformed_public_key,
                      "device public key is not a SubjectPublicKeyInfo");
    if (key->algo_name() != "RSA") {
        throw CaError(CaErrc::key_mismatch,
                      "the device's key is " + key_description(*key) +
                          ": an encrypted configuration (.enc.sgn) wraps its AES key with RSA only "
                          "(protocol/README.md, section 8.2); give the phone an RSA LSC");
    }
    return key;
}

/// ITL tag 7: RSA as PKCS#1 RSAPublicKey DER, EC as the uncompressed point.
Bytes itl_public_key(const Botan::X509_Certificate& cert) {
    const std::unique_ptr<Botan::Public_Key> key(cert.load_subject_public_key());
    if (const auto* rsa = dynamic_cast<const Botan::RSA_PublicKey*>(key.get()))
        return rsa->public_key_bits();
    if (const auto* ec = dynamic_cast<const Botan::EC_PublicKey*>(key.get()))
        return ec->public_point().encode(Botan::PointGFp::UNCOMPRESSED);
    throw CaError(CaErrc::key_mismatch, "certificate " + rfc4514_name(cert.subject_dn()) +
                                            " has a " + key->algo_name() +
                                            " key; an ITL holds RSA or EC keys only");
}

// ---- signing ----

protocol::SignedFileHeader signer_header(const Identity& signer, const std::string& file_name,
                                         const SignedFileOptions& options) {
    require_tftp_signing_key(signer);
    const auto& cert = signer.certificate();
    protocol::SignedFileHeader h;
    h.signer.signer_name = rfc4514_name(cert.subject_dn());
    h.signer.issuer_name = rfc4514_name(cert.issuer_dn());
    h.signer.serial = cert.serial_number();
    h.signer.modulus_bytes = signer.key->key_length() / 8;
    h.hash = options.hash;
    h.file_name = file_name;
    h.timestamp = options.timestamp;
    return h;
}

/// Header + payload with the signature computed over the file without
/// element 12 and then put in its place (section 8.1).
Bytes sign_file(protocol::SignedFileHeader header, std::span<const std::uint8_t> payload,
                const Identity& signer, Botan::RandomNumberGenerator& rng) {
    header.signature.clear();
    Bytes file = protocol::encode_header(header);
    file.insert(file.end(), payload.begin(), payload.end());
    // A signer set up once per thread: a new one per file costs more than
    // the signature itself (see ca/signer_cache.hpp).
    header.signature = sign_with_cached_signer(signer.key, "EMSA3(" + hash_name(header.hash) + ")",
                                               protocol::signed_portion(file), rng);
    const Bytes signed_header = protocol::encode_header(header);
    if (signed_header.size() != file.size() - payload.size())
        throw CaError(CaErrc::key_mismatch, "the signature is not as long as the signer's modulus");
    std::copy(signed_header.begin(), signed_header.end(), file.begin());
    return file;
}

Bytes digest_of(FileHash hash, std::string_view text) {
    const auto function = Botan::HashFunction::create_or_throw(hash_name(hash));
    function->update(reinterpret_cast<const std::uint8_t*>(text.data()), text.size());
    return function->final_stdvec();
}

}  // namespace

std::string rfc4514_name(const Botan::X509_DN& dn) {
    // Botan keeps the attributes but not their grouping into RDNs, so the
    // name is read again from its DER: RDNs last to first (RFC 4514,
    // section 2.1), comma-joined, multi-valued RDNs joined with '+'.
    std::vector<std::string> rdns;
    std::vector<std::uint8_t> encoded;
    Botan::DER_Encoder der(encoded);
    dn.encode_into(der);
    Botan::BER_Decoder whole(encoded);
    Botan::BER_Decoder name = whole.start_cons(Botan::SEQUENCE);
    while (name.more_items()) {
        Botan::BER_Decoder rdn = name.start_cons(Botan::SET);
        std::string text;
        while (rdn.more_items()) {
            Botan::OID oid;
            Botan::BER_Decoder attribute = rdn.start_cons(Botan::SEQUENCE);
            attribute.decode(oid);
            const Botan::BER_Object value = attribute.get_next_object();
            attribute.end_cons();
            text += (text.empty() ? "" : "+") + attribute_text(oid, value);
        }
        rdn.end_cons();
        rdns.push_back(std::move(text));
    }
    std::string out;
    for (auto it = rdns.rbegin(); it != rdns.rend(); ++it)
        out += (out.empty() ? "" : ",") + *it;
    return out;
}

std::vector<KeySpec> tftp_key_specs() {
    // RSA 3072 is missing on purpose: tag 11 of the header can only say 64,
    // 128, 256 or 512 bytes of modulus (section 8.1).
    std::vector<KeySpec> specs;
    for (const auto& spec : phone_key_specs()) {
        if (spec.algorithm == KeySpec::Algorithm::rsa && spec.bits >= 1024 && spec.bits <= 4096 &&
            (spec.bits & (spec.bits - 1)) == 0)
            specs.push_back(spec);
    }
    return specs;
}

void require_tftp_signing_key(const Identity& identity) {
    const auto& key = *identity.key;
    const auto allowed = tftp_key_specs();
    const std::string use = "; use one of " + key_spec_list(allowed);
    if (key.algo_name() != "RSA") {
        throw CaError(CaErrc::unsupported_key_spec,
                      "the TFTP signing key is " + key_description(key) +
                          ": EC is refused because phones verify .sgn and ITL signatures with RSA "
                          "only" +
                          use);
    }
    const KeySpec spec{KeySpec::Algorithm::rsa, static_cast<unsigned>(key.key_length())};
    if (!is_one_of(spec, allowed)) {
        throw CaError(CaErrc::unsupported_key_spec,
                      "the TFTP signing key is " + spec.text() +
                          ": signed-file headers only express RSA moduli of 1024, 2048 or 4096 "
                          "bits (protocol/README.md, section 8.1)" +
                          use);
    }
}

Bytes build_encrypted_config(std::string_view xml,
                             std::span<const std::uint8_t> device_public_key_der,
                             const std::string& file_name, const Identity& signer,
                             const SignedFileOptions& options, Botan::RandomNumberGenerator& rng) {
    protocol::SignedFileHeader header = signer_header(signer, file_name, options);
    const auto device_key = load_device_key(device_public_key_der);
    header.major = 2;
    header.minor = 0;

    // Section 8.2: '\r' up to the next multiple of 16, a whole block when aligned.
    const std::size_t pad = 16 - xml.size() % 16;
    Botan::secure_vector<std::uint8_t> data(xml.begin(), xml.end());
    data.insert(data.end(), pad, '\r');
    const Botan::secure_vector<std::uint8_t> aes_key = rng.random_vec(16);
    protocol::FileEncryption encryption;
    rng.random_vec(encryption.iv, 16);
    const auto cipher =
        Botan::Cipher_Mode::create_or_throw("AES-128/CBC/NoPadding", Botan::ENCRYPTION);
    cipher->set_key(aes_key);
    cipher->start(encryption.iv);
    cipher->finish(data);

    Botan::PK_Encryptor_EME wrapper(*device_key, rng, "EME-PKCS1-v1_5");
    encryption.wrapped_key = wrapper.encrypt(aes_key, rng);
    encryption.wrapped_key_bits = static_cast<std::uint16_t>(encryption.wrapped_key.size() * 8);
    encryption.pad_count = static_cast<std::uint16_t>(pad);
    encryption.digest_hash = options.hash;
    encryption.digest = digest_of(options.hash, xml);
    header.encryption = std::move(encryption);
    return sign_file(std::move(header), Bytes(data.begin(), data.end()), signer, rng);
}

Bytes build_signed_file(std::span<const std::uint8_t> payload, const std::string& file_name,
                        const Identity& signer, const SignedFileOptions& options,
                        Botan::RandomNumberGenerator& rng) {
    return sign_file(signer_header(signer, file_name, options), payload, signer, rng);
}

Bytes build_itl(const std::vector<ItlEntry>& entries, const Identity& signer,
                const SignedFileOptions& options, Botan::RandomNumberGenerator& rng) {
    return build_trust_list(entries, signer, protocol::itl_file_name, options, rng);
}

Bytes build_trust_list(const std::vector<ItlEntry>& entries, const Identity& signer,
                       const std::string& file_name, const SignedFileOptions& options,
                       Botan::RandomNumberGenerator& rng) {
    protocol::SignedFileHeader header = signer_header(signer, file_name, options);
    header.major = 1;
    header.minor = 2;
    header.signer_version = std::pair<std::uint8_t, std::uint8_t>{1, 0};
    Bytes payload;
    for (const auto& entry : entries) {
        const auto& cert = entry.certificate;
        protocol::ItlRecord record;
        record.subject_name = rfc4514_name(cert.subject_dn());
        record.role = entry.role;
        record.issuer_name = rfc4514_name(cert.issuer_dn());
        record.serial = cert.serial_number();
        record.public_key = itl_public_key(cert);
        record.signature = cert.signature();
        record.certificate_der = cert.BER_encode();
        const Bytes bytes = protocol::encode_itl_record(record);
        payload.insert(payload.end(), bytes.begin(), bytes.end());
    }
    return sign_file(std::move(header), payload, signer, rng);
}

std::vector<ItlEntry> minimal_itl_entries(const Identity& tftp,
                                          const Botan::X509_Certificate& capf) {
    return {{tftp.certificate(), protocol::ItlRole::sast},
            {tftp.certificate(), protocol::ItlRole::tftp},
            {capf, protocol::ItlRole::capf}};
}

std::vector<ItlEntry> rollback_itl_entries(const Identity& tftp,
                                           const Botan::X509_Certificate& capf,
                                           const std::vector<ItlEntry>& others) {
    using protocol::ItlRole;
    std::vector<ItlEntry> entries = {{tftp.certificate(), ItlRole::sast}, {capf, ItlRole::capf}};
    for (const auto& entry : others) {
        // Section 11.1: the TFTP and TVS sections empty. CCM+TFTP is a TFTP
        // record too: a phone would verify files against it.
        if (entry.role != ItlRole::tftp && entry.role != ItlRole::ccm_tftp &&
            entry.role != ItlRole::tvs)
            entries.push_back(entry);
    }
    return entries;
}

bool verify_signed_file(std::span<const std::uint8_t> whole_file,
                        const Botan::X509_Certificate& cert) {
    try {
        const auto parsed = protocol::parse_signed_file(whole_file);
        const std::unique_ptr<Botan::Public_Key> key(cert.load_subject_public_key());
        if (key->algo_name() != "RSA")
            return false;
        Botan::PK_Verifier verifier(*key, "EMSA3(" + hash_name(parsed.header.hash) + ")");
        return verifier.verify_message(protocol::signed_portion(whole_file),
                                       parsed.header.signature);
    } catch (const protocol::ProtocolError&) {
        return false;
    } catch (const Botan::Exception&) {
        // A key or signature Botan cannot use: not a valid signature either.
        return false;
    }
}

}  // namespace capf::ca
