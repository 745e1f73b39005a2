#include "ca/identity.hpp"

#include <botan/auto_rng.h>
#include <botan/data_src.h>
#include <botan/ec_group.h>
#include <botan/ecdsa.h>
#include <botan/pkcs8.h>
#include <botan/pkix_types.h>
#include <botan/pubkey.h>
#include <botan/rsa.h>
#include <botan/x509_ca.h>
#include <botan/x509_ext.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

#include "ca/error.hpp"
#include "ca/names.hpp"
#include "ca/serial.hpp"
#include "ca/tftp_files.hpp"

namespace capf::ca {
namespace {

std::string mode_text(mode_t mode) {
    char buf[8];
    std::snprintf(buf, sizeof buf, "%04o", static_cast<unsigned>(mode & 07777));
    return buf;
}

std::vector<Botan::X509_Certificate> load_chain(const std::filesystem::path& file) {
    std::vector<Botan::X509_Certificate> chain;
    try {
        Botan::DataSource_Stream in(file.string());
        while (!in.end_of_data()) {
            try {
                chain.emplace_back(in);
            } catch (const std::exception&) {
                if (chain.empty())
                    throw;
                break;  // trailing text after the last certificate
            }
        }
    } catch (const std::exception& e) {
        throw CaError(CaErrc::file_unreadable,
                      "cannot read certificate file " + file.string() + ": " + e.what());
    }
    if (chain.empty()) {
        throw CaError(CaErrc::file_unreadable, "no certificate in " + file.string());
    }
    return chain;
}

Botan::X509_DN make_dn(const IdentityProfile& p) {
    Botan::X509_DN dn;
    dn.add_attribute("X520.CommonName", p.common_name);
    if (!p.organization.empty())
        dn.add_attribute("X520.Organization", p.organization);
    if (!p.organizational_unit.empty())
        dn.add_attribute("X520.OrganizationalUnit", p.organizational_unit);
    if (!p.locality.empty())
        dn.add_attribute("X520.Locality", p.locality);
    if (!p.state.empty())
        dn.add_attribute("X520.State", p.state);
    if (!p.country.empty())
        dn.add_attribute("X520.Country", p.country);
    return dn;
}

void write_file(const std::filesystem::path& path, const std::string& content, mode_t mode) {
    // Created with its final mode: never a moment where others may read it.
    const int fd =
        ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, mode);
    if (fd < 0) {
        throw CaError(CaErrc::write_failed,
                      "cannot write " + path.string() + ": " + std::strerror(errno));
    }
    bool ok = ::fchmod(fd, mode) == 0;
    std::size_t done = 0;
    while (ok && done < content.size()) {
        const ssize_t n = ::write(fd, content.data() + done, content.size() - done);
        if (n < 0 && errno == EINTR)
            continue;
        ok = n > 0;
        if (ok)
            done += static_cast<std::size_t>(n);
    }
    ok = ::close(fd) == 0 && ok;
    if (!ok) {
        throw CaError(CaErrc::write_failed,
                      "cannot write " + path.string() + ": " + std::strerror(errno));
    }
}

}  // namespace

std::optional<std::string> read_passphrase(const Passphrase& p) {
    if (p.file) {
        // Checked before reading: a passphrase others can read protects nothing.
        struct stat st {};
        if (::stat(p.file->c_str(), &st) != 0) {
            throw CaError(
                CaErrc::file_unreadable,
                "cannot read passphrase file " + p.file->string() + ": " + std::strerror(errno));
        }
        if ((st.st_mode & 077) != 0) {
            throw CaError(CaErrc::key_file_too_open,
                          "passphrase file " + p.file->string() + " has mode " +
                              mode_text(st.st_mode) +
                              ": group or others can read it; run chmod 600 " + p.file->string());
        }
        std::ifstream in(*p.file);
        if (!in) {
            throw CaError(CaErrc::file_unreadable,
                          "cannot read passphrase file " + p.file->string());
        }
        std::string line;
        std::getline(in, line);
        if (!line.empty() && line.back() == '\r')
            line.pop_back();
        return line;
    }
    if (p.env) {
        const char* value = std::getenv(p.env->c_str());
        if (value == nullptr) {
            throw CaError(CaErrc::bad_passphrase,
                          "environment variable " + *p.env + " with the key passphrase is not set");
        }
        return std::string(value);
    }
    return std::nullopt;
}

Identity load_identity(const std::filesystem::path& certificate_file,
                       const std::filesystem::path& key_file, const Passphrase& passphrase) {
    struct stat st {};
    if (::stat(key_file.c_str(), &st) != 0) {
        throw CaError(CaErrc::file_unreadable,
                      "cannot read private key " + key_file.string() + ": " + std::strerror(errno));
    }
    if ((st.st_mode & 077) != 0) {
        throw CaError(CaErrc::key_file_too_open,
                      "private key " + key_file.string() + " has mode " + mode_text(st.st_mode) +
                          ": group or others can read it; run chmod 600 " + key_file.string());
    }
    Identity id;
    id.chain = load_chain(certificate_file);
    const auto pass = read_passphrase(passphrase);
    try {
        Botan::DataSource_Stream in(key_file.string());
        if (pass) {
            id.key = Botan::PKCS8::load_key(in, *pass);
        } else {
            id.key = Botan::PKCS8::load_key(in);
        }
    } catch (const std::exception& e) {
        const std::string what = e.what();
        // Botan reports an encrypted key without (or with a wrong) passphrase
        // as a decoding failure; say what the operator can do about it.
        throw CaError(
            pass ? CaErrc::bad_passphrase : CaErrc::file_unreadable,
            "cannot load private key " + key_file.string() + ": " + what +
                (pass ? " (is the passphrase right?)"
                      : " (if it is encrypted, configure passphrase_file or passphrase_env)"));
    }
    if (id.chain.front().subject_public_key_info() != id.key->subject_public_key()) {
        throw CaError(CaErrc::identity_mismatch, "private key " + key_file.string() +
                                                     " does not belong to the certificate in " +
                                                     certificate_file.string());
    }
    return id;
}

void check_issuer(const Identity& issuer, std::chrono::system_clock::time_point now) {
    const auto& cert = issuer.certificate();
    if (!cert.is_CA_cert() || !cert.allowed_usage(Botan::KEY_CERT_SIGN)) {
        throw CaError(CaErrc::not_a_ca, "issuer certificate " + dn_text(cert.subject_dn()) +
                                            " is not a CA (needs CA:TRUE and keyCertSign)");
    }
    if (cert.not_after().to_std_timepoint() <= now) {
        throw CaError(CaErrc::issuer_expired, "issuer certificate " + dn_text(cert.subject_dn()) +
                                                  " expired on " +
                                                  cert.not_after().readable_string());
    }
}

Identity generate_identity(const IdentityProfile& profile,
                           std::chrono::system_clock::time_point now) {
    Botan::AutoSeeded_RNG rng;
    std::shared_ptr<Botan::Private_Key> key;
    const auto& spec = profile.key;
    const bool tftp = profile.role == IdentityRole::tftp;
    if (tftp && !is_one_of(spec, tftp_key_specs())) {
        throw CaError(CaErrc::unsupported_key_spec,
                      "a TFTP signing key must be one of " + key_spec_list(tftp_key_specs()) +
                          ", not " + spec.text() +
                          ": phones verify .sgn and ITL signatures with RSA only");
    }
    if (!tftp && !is_one_of(spec, identity_key_specs())) {
        const char* what = profile.role == IdentityRole::tvs ? "a TVS" : "a CAPF";
        throw CaError(CaErrc::unsupported_key_spec,
                      std::string(what) + " identity key must be one of " +
                          key_spec_list(identity_key_specs()) + ", not " + spec.text());
    }
    if (spec.algorithm == KeySpec::Algorithm::rsa) {
        key = std::make_shared<Botan::RSA_PrivateKey>(rng, spec.bits);
    } else {
        key = std::make_shared<Botan::ECDSA_PrivateKey>(
            rng, Botan::EC_Group(spec.bits == 256 ? "secp256r1" : "secp384r1"));
    }
    const Botan::X509_DN dn = make_dn(profile);
    Botan::Extensions extensions;
    const bool issuer = profile.role == IdentityRole::capf;
    extensions.add(issuer ? new Botan::Cert_Extension::Basic_Constraints(true, 0)
                          : new Botan::Cert_Extension::Basic_Constraints(false),
                   true);
    // keyEncipherment too for RSA: the legacy TLS policy's RSA key exchange
    // (what 7940/7960-class phones speak) encrypts to this key, and strict
    // TLS clients refuse a certificate that does not allow it.
    auto usage = issuer ? Botan::DIGITAL_SIGNATURE | Botan::KEY_CERT_SIGN | Botan::CRL_SIGN
                        : Botan::DIGITAL_SIGNATURE;
    if (spec.algorithm == KeySpec::Algorithm::rsa) {
        usage = usage | Botan::KEY_ENCIPHERMENT;
    }
    if (tftp) {
        // It signs files only (see IdentityRole::tftp).
        usage = Botan::DIGITAL_SIGNATURE;
    }
    extensions.add(new Botan::Cert_Extension::Key_Usage(static_cast<Botan::Key_Constraints>(usage)),
                   true);
    extensions.add(new Botan::Cert_Extension::Subject_Key_ID(key->subject_public_key(), "SHA-160"));

    Botan::AlgorithmIdentifier sig_algo;
    std::unique_ptr<Botan::PK_Signer> signer(
        Botan::choose_sig_format(*key, rng, "SHA-256", sig_algo));
    const auto not_after = now + std::chrono::hours(24) * profile.validity_days;
    Identity id;
    id.chain.push_back(Botan::X509_CA::make_cert(signer.get(), rng, random_serial(rng), sig_algo,
                                                 key->subject_public_key(), Botan::X509_Time(now),
                                                 Botan::X509_Time(not_after), dn, dn, extensions));
    id.key = key;
    return id;
}

void write_identity(const Identity& identity, const std::filesystem::path& certificate_file,
                    const std::filesystem::path& key_file,
                    const std::optional<std::string>& passphrase) {
    std::string pem;
    for (const auto& cert : identity.chain) {
        pem += cert.PEM_encode();
    }
    Botan::AutoSeeded_RNG rng;
    // Named explicitly rather than left to Botan's default, so the format
    // on disk (PKCS#8 PBES2, AES-256) is a documented choice.
    const std::string key_pem =
        passphrase ? Botan::PKCS8::PEM_encode_encrypted_pbkdf_msec(
                         *identity.key, rng, *passphrase, std::chrono::milliseconds(300), nullptr,
                         "AES-256/CBC", "SHA-256")
                   : Botan::PKCS8::PEM_encode(*identity.key);
    write_file(key_file, key_pem, 0600);
    write_file(certificate_file, pem, 0644);
}

}  // namespace capf::ca
