#include "tests/phone/test_sudi.hpp"

#include <botan/auto_rng.h>
#include <botan/data_src.h>
#include <botan/pkcs10.h>
#include <botan/pkcs8.h>
#include <botan/rsa.h>
#include <botan/x509_ca.h>
#include <botan/x509self.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <fstream>
#include <optional>
#include <random>
#include <stdexcept>
#include <system_error>

namespace capf::test {
namespace {

namespace fs = std::filesystem;

constexpr std::size_t sudi_rsa_bits = 2048;  // what real SUDIs carry
constexpr auto sudi_lifetime = std::chrono::hours(24 * 3650);

std::string unique_suffix() {
    std::random_device random;
    return ".tmp-" + std::to_string(::getpid()) + "-" + std::to_string(random());
}

void write_file(const fs::path& path, const std::string& content) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << content;
    out.close();
    if (!out)
        throw std::runtime_error("cannot write " + path.string());
}

std::unique_ptr<Botan::Private_Key> load_key(const fs::path& path) {
    Botan::DataSource_Stream source(path.string());
    return Botan::PKCS8::load_key(source);
}

/// Writes `content` to `path` unless it exists: through a temporary file
/// and link(), which fails when another phone got there first (its file
/// stands).
void publish_once(const fs::path& path, const std::string& content) {
    const fs::path temporary = path.string() + unique_suffix();
    write_file(temporary, content);
    const int linked = ::link(temporary.c_str(), path.c_str());
    const int error = errno;
    fs::remove(temporary);
    if (linked != 0 && error != EEXIST)
        throw std::system_error(error, std::generic_category(), "cannot create " + path.string());
}

Botan::X509_Time time_from_now(std::chrono::system_clock::duration d) {
    return Botan::X509_Time(std::chrono::system_clock::now() + d);
}

/// A new directory with root.pem and root-key.pem, renamed into place in
/// one step; when another phone's directory is there first, it stands.
void make_root(const fs::path& ca_dir, Botan::RandomNumberGenerator& rng) {
    const fs::path temporary = ca_dir.string() + unique_suffix();
    fs::create_directories(temporary);
    const Botan::RSA_PrivateKey key(rng, sudi_rsa_bits);
    Botan::X509_Cert_Options options("capf-phone test SUDI root/US/Test Manufacturer/SUDI");
    options.CA_key(1);
    options.start = time_from_now(-std::chrono::hours(1));
    options.end = time_from_now(sudi_lifetime);
    const auto root = Botan::X509::create_self_signed_cert(options, key, "SHA-256", rng);
    write_file(temporary / "root.pem", root.PEM_encode());
    write_file(temporary / "root-key.pem", Botan::PKCS8::PEM_encode(key));
    fs::create_directories(ca_dir.parent_path().empty() ? fs::path(".") : ca_dir.parent_path());
    if (::rename(temporary.c_str(), ca_dir.c_str()) != 0) {
        const int error = errno;
        fs::remove_all(temporary);
        if (error != EEXIST && error != ENOTEMPTY)
            throw std::system_error(error, std::generic_category(),
                                    "cannot create " + ca_dir.string());
    }
}

Botan::X509_Certificate issue_sudi(const std::string& device_name,
                                   const Botan::X509_Certificate& root,
                                   const Botan::Private_Key& root_key,
                                   const Botan::Private_Key& sudi_key,
                                   Botan::RandomNumberGenerator& rng) {
    Botan::X509_Cert_Options options("CP-8845-" + device_name + "/US/Test Manufacturer/SUDI");
    options.serial_number = "PID:CP-8845 SN:" + device_name;
    const auto request = Botan::X509::create_cert_req(options, sudi_key, "SHA-256", rng);
    const Botan::X509_CA ca(root, root_key, "SHA-256", rng);
    return ca.sign_request(request, rng, time_from_now(-std::chrono::hours(1)),
                           time_from_now(sudi_lifetime));
}

/// The phone's stored SUDI, if it is there, names `device_name`, holds
/// `key` and `root` signed it.
std::optional<Botan::X509_Certificate> stored_sudi(const fs::path& path,
                                                   const std::string& device_name,
                                                   const Botan::X509_Certificate& root,
                                                   const Botan::Private_Key& key) {
    if (!fs::exists(path))
        return std::nullopt;
    try {
        Botan::X509_Certificate sudi(path.string());
        const auto root_key = root.load_subject_public_key();
        if (sudi.subject_dn().get_first_attribute("CN") == "CP-8845-" + device_name &&
            sudi.subject_public_key_bits() == key.public_key_bits() &&
            sudi.issuer_dn() == root.subject_dn() && sudi.check_signature(*root_key))
            return sudi;
    } catch (const std::exception&) {
        // Unreadable: issued again below.
    }
    return std::nullopt;
}

}  // namespace

TestSudi load_or_make_test_sudi(const std::string& device_name, const fs::path& state_dir,
                                const fs::path& ca_dir) {
    Botan::AutoSeeded_RNG rng;
    if (!fs::exists(ca_dir / "root.pem"))
        make_root(ca_dir, rng);
    const Botan::X509_Certificate root((ca_dir / "root.pem").string());
    const fs::path sudi_key_path = ca_dir / "sudi-key.pem";
    if (!fs::exists(sudi_key_path)) {
        const Botan::RSA_PrivateKey fresh(rng, sudi_rsa_bits);
        publish_once(sudi_key_path, Botan::PKCS8::PEM_encode(fresh));
    }
    TestSudi out{root, load_key(sudi_key_path)};
    const fs::path sudi_path = state_dir / "sudi.pem";
    if (auto kept = stored_sudi(sudi_path, device_name, root, *out.key)) {
        out.certificate = std::move(*kept);
        return out;
    }
    out.certificate =
        issue_sudi(device_name, root, *load_key(ca_dir / "root-key.pem"), *out.key, rng);
    fs::create_directories(state_dir);
    const fs::path temporary = sudi_path.string() + unique_suffix();
    write_file(temporary, out.certificate.PEM_encode());
    fs::rename(temporary, sudi_path);
    return out;
}

}  // namespace capf::test
