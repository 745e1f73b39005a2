#include "ca/issuer.hpp"

#include <botan/auto_rng.h>
#include <botan/hex.h>
#include <botan/pkix_types.h>
#include <botan/pubkey.h>
#include <botan/x509_ca.h>
#include <botan/x509_ext.h>

#include "ca/error.hpp"
#include "ca/fingerprint.hpp"
#include "ca/public_key.hpp"
#include "ca/serial.hpp"

namespace capf::ca {

LscIssuer::LscIssuer(Identity issuer) : issuer_(std::move(issuer)) {
    check_issuer(issuer_, std::chrono::system_clock::now());
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

    Botan::AutoSeeded_RNG rng;
    Botan::AlgorithmIdentifier sig_algo;
    std::unique_ptr<Botan::PK_Signer> signer(
        Botan::choose_sig_format(*issuer_.key, rng, "SHA-256", sig_algo));
    const Botan::BigInt serial = random_serial(rng);
    const auto cert =
        Botan::X509_CA::make_cert(signer.get(), rng, serial, sig_algo, spki, Botan::X509_Time(now),
                                  Botan::X509_Time(not_after), issuer_dn, subject, extensions);
    IssuedLsc out;
    out.der = cert.BER_encode();
    out.serial_hex = Botan::hex_encode(cert.serial_number(), false);
    out.not_before = cert.not_before().to_std_timepoint();
    out.not_after = cert.not_after().to_std_timepoint();
    out.public_key_der = spki;
    out.md5_hex = md5_hex(out.der);
    return out;
}

}  // namespace capf::ca
