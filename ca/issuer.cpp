#include "ca/issuer.hpp"

#include <botan/der_enc.h>
#include <botan/hex.h>
#include <botan/pkix_types.h>
#include <botan/pubkey.h>
#include <botan/x509_ca.h>
#include <botan/x509_ext.h>

#include "ca/error.hpp"
#include "ca/fingerprint.hpp"
#include "ca/public_key.hpp"
#include "ca/serial.hpp"
#include "ca/signer_cache.hpp"

namespace capf::ca {

LscIssuer::LscIssuer(Identity issuer) : issuer_(std::move(issuer)) {
    check_issuer(issuer_, std::chrono::system_clock::now());
    const bool rsa = issuer_.key->algo_name() == "RSA";
    padding_ = rsa ? "EMSA3(SHA-256)" : "EMSA1(SHA-256)";
    format_ = rsa ? Botan::IEEE_1363 : Botan::DER_SEQUENCE;
    // The algorithm identifier the certificates name, as Botan chooses it.
    Botan::X509_Object::choose_sig_format(signature_algorithm_, *issuer_.key, thread_rng(),
                                          "SHA-256", "");
}

IssuedLsc LscIssuer::issue_lsc(const std::string& device_name,
                               std::span<const std::uint8_t> spki_der, const KeySpec& requested,
                               unsigned validity_days,
                               std::chrono::system_clock::time_point now) const {
    const KeySpec arrived = describe_public_key(spki_der);
    if (!(arrived == requested)) {
        throw CaError(CaErrc::key_mismatch,
                      "expected a " + requested.text() + " key, the phone sent " + arrived.text());
    }
    const auto& issuer_cert = issuer_.certificate();
    const auto issuer_expiry = issuer_cert.not_after().to_std_timepoint();
    if (issuer_expiry <= now) {
        throw CaError(CaErrc::issuer_expired,
                      "issuer certificate expired on " + issuer_cert.not_after().readable_string());
    }
    auto not_after = now + std::chrono::hours(24) * validity_days;
    if (not_after > issuer_expiry) {
        not_after = issuer_expiry;  // never outlive the issuer
    }

    const Botan::X509_DN& issuer_dn = issuer_cert.subject_dn();
    Botan::X509_DN subject;
    subject.add_attribute("X520.CommonName", device_name);
    for (const char* attr : {"X520.Organization", "X520.OrganizationalUnit", "X520.Locality",
                             "X520.State", "X520.Country"}) {
        for (const auto& value : issuer_dn.get_attribute(attr)) {
            subject.add_attribute(attr, value);
        }
    }

    const std::vector<std::uint8_t> spki(spki_der.begin(), spki_der.end());
    Botan::Extensions extensions;
    extensions.add(new Botan::Cert_Extension::Basic_Constraints(false), true);
    extensions.add(new Botan::Cert_Extension::Key_Usage(static_cast<Botan::Key_Constraints>(
                       Botan::DIGITAL_SIGNATURE | Botan::KEY_ENCIPHERMENT)),
                   true);
    extensions.add(new Botan::Cert_Extension::Extended_Key_Usage(
        {Botan::OID::from_string("PKIX.ServerAuth"), Botan::OID::from_string("PKIX.ClientAuth"),
         Botan::OID::from_string("1.3.6.1.5.5.7.3.5")}));
    extensions.add(new Botan::Cert_Extension::Subject_Alternative_Name(
        Botan::AlternativeName("", device_name, "", "")));
    extensions.add(new Botan::Cert_Extension::Subject_Key_ID(spki, "SHA-160"));
    if (!issuer_cert.subject_key_id().empty()) {
        extensions.add(new Botan::Cert_Extension::Authority_Key_ID(issuer_cert.subject_key_id()));
    }

    auto& rng = thread_rng();
    Botan::PK_Signer& signer = cached_signer(issuer_.key, padding_, format_);
    const Botan::BigInt serial = random_serial(rng);
    const Botan::X509_Time from(now), until(not_after);
    // The certificate as Botan's X509_CA::make_cert encodes it, without
    // make_cert's parse of the result back into an X509_Certificate (a
    // tenth of issuing's own CPU), which nothing here needs.
    const std::size_t x509_version = 3;
    const auto tbs = Botan::DER_Encoder()
                         .start_cons(Botan::SEQUENCE)
                         .start_explicit(0)
                         .encode(x509_version - 1)
                         .end_explicit()
                         .encode(serial)
                         .encode(signature_algorithm_)
                         .encode(issuer_dn)
                         .start_cons(Botan::SEQUENCE)
                         .encode(from)
                         .encode(until)
                         .end_cons()
                         .encode(subject)
                         .raw_bytes(spki)
                         .start_explicit(3)
                         .start_cons(Botan::SEQUENCE)
                         .encode(extensions)
                         .end_cons()
                         .end_explicit()
                         .end_cons()
                         .get_contents();
    IssuedLsc out;
    out.der = Botan::X509_Object::make_signed(&signer, rng, signature_algorithm_, tbs);
    out.serial_hex = Botan::hex_encode(Botan::BigInt::encode(serial), false);
    out.not_before = from.to_std_timepoint();
    out.not_after = until.to_std_timepoint();
    out.public_key_der = spki;
    out.md5_hex = md5_hex(out.der);
    return out;
}

}  // namespace capf::ca
