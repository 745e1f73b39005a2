#include "capf/tftp/ctl_encryptor.hpp"

#include <botan/auto_rng.h>
#include <botan/hex.h>

#include <chrono>
#include <fstream>
#include <iterator>

#include "ca/error.hpp"
#include "ca/fingerprint.hpp"
#include "capf/common/atomic_file.hpp"
#include "capf/common/log.hpp"
#include "capf/tftp/itl_roles.hpp"
#include "capf/tftp/signing_options.hpp"
#include "protocol/error.hpp"

namespace capf::tftp {
namespace {

using Bytes = std::vector<std::uint8_t>;

std::string serial_hex(std::span<const std::uint8_t> serial) {
    return Botan::hex_encode(serial.data(), serial.size(), false);
}

/// "CN=SAST1-a (serial 0a1b)": a certificate as messages name it.
std::string certificate_text(const Botan::X509_Certificate& cert) {
    return ca::rfc4514_name(cert.subject_dn()) + " (serial " + serial_hex(cert.serial_number()) +
           ")";
}

Botan::X509_Certificate read_sast_certificate(const std::filesystem::path& file, const char* what) {
    try {
        return Botan::X509_Certificate(file.string());
    } catch (const std::exception& e) {
        throw EncryptorError("ctl: cannot read the " + std::string(what) + " certificate " +
                             file.string() + ": " + e.what() +
                             " (capfd init --sast 1 --sast 2 creates both)");
    }
}

/// Phones verify CTL signatures with RSA, and the spare SAST must be able
/// to sign the next CTL: both RSA, and two different keys (section 10).
void require_usable_pair(const Botan::X509_Certificate& sast1,
                         const Botan::X509_Certificate& sast2) {
    for (const auto* cert : {&sast1, &sast2}) {
        const std::unique_ptr<Botan::Public_Key> key(cert->load_subject_public_key());
        if (key->algo_name() != "RSA")
            throw EncryptorError("ctl: the SAST certificate " + certificate_text(*cert) +
                                 " has a " + key->algo_name() +
                                 " key; phones verify CTL signatures with RSA only");
    }
    if (sast1.subject_public_key_bits() == sast2.subject_public_key_bits())
        throw EncryptorError("ctl: sast1 " + certificate_text(sast1) + " and sast2 " +
                             certificate_text(sast2) +
                             " hold the same key; a CTL needs two different SAST keys, the second "
                             "the spare that signs when the first is lost (protocol/README.md, "
                             "section 10)");
}

Bytes read_ctl_file(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in)
        throw EncryptorError("ctl: cannot read " + path.string());
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

/// The name becomes part of a file path: it must not climb out of it.
void require_device_file_name(const std::string& device) {
    if (device.empty() || device == "." || device == ".." ||
        device.find_first_of("/\\") != std::string::npos || device.find('\0') != std::string::npos)
        throw EncryptorError(ParkCause::invalid_device_name,
                             "ctl: device name \"" + device + "\" is not a plain file name");
}

}  // namespace

CtlEncryptor::CtlEncryptor(CtlEncryptorConfig settings, std::filesystem::path tftp_directory,
                           std::shared_ptr<const IdentitySource> tftp_identity,
                           Botan::X509_Certificate capf_certificate)
    : settings_(std::move(settings)),
      directory_(std::move(tftp_directory)),
      target_(directory_ / protocol::ctl_file_name),
      tftp_(std::move(tftp_identity)),
      capf_certificate_(std::move(capf_certificate)) {
    for (const auto& extra : settings_.extra) {
        const protocol::ItlRole role = itl_role(extra.role);  // refuses an unknown role now
        try {
            extra_.push_back({Botan::X509_Certificate(extra.certificate.string()), role});
        } catch (const std::exception& e) {
            throw EncryptorError("ctl: cannot read the certificate " + extra.certificate.string() +
                                 ": " + e.what());
        }
    }
    (void)load_sasts();  // refuses missing, EC or twin SASTs at start, not at the first build
}

EncryptorScope CtlEncryptor::scope() const {
    return settings_.per_device ? EncryptorScope::device : EncryptorScope::fleet;
}

CtlEncryptor::Sasts CtlEncryptor::load_sasts() const {
    Botan::X509_Certificate sast1 = read_sast_certificate(settings_.sast1.certificate, "sast1");
    Botan::X509_Certificate sast2 = read_sast_certificate(settings_.sast2.certificate, "sast2");
    require_usable_pair(sast1, sast2);
    const bool second = settings_.signer == CtlEncryptorConfig::Signer::sast2;
    const KeyPairConfig& files = second ? settings_.sast2 : settings_.sast1;
    try {
        auto signer = std::make_shared<const ca::Identity>(
            ca::load_identity(files.certificate, files.private_key,
                              ca::Passphrase{files.passphrase_file, files.passphrase_env}));
        ca::require_tftp_signing_key(*signer);
        return Sasts{std::move(signer), std::move(sast1), std::move(sast2)};
    } catch (const ca::CaError& e) {
        throw EncryptorError(std::string("ctl: the signer ") + (second ? "sast2" : "sast1") + " (" +
                             files.certificate.string() + ", " + files.private_key.string() +
                             "): " + e.what());
    }
}

Bytes CtlEncryptor::build(const Sasts& sasts) const {
    using protocol::ItlRole;
    // The TFTP identity from one snapshot: a SIGHUP meanwhile changes the
    // next CTL, not this one.
    const std::shared_ptr<const ca::Identity> tftp = tftp_->current();
    std::vector<ca::ItlEntry> entries = {{sasts.sast1, ItlRole::sast},
                                         {sasts.sast2, ItlRole::sast},
                                         {tftp->certificate(), ItlRole::tftp},
                                         {capf_certificate_, ItlRole::capf}};
    entries.insert(entries.end(), extra_.begin(), extra_.end());
    const ca::SignedFileOptions options = signing_options(settings_.hash);
    thread_local Botan::AutoSeeded_RNG rng;
    try {
        return ca::build_trust_list(entries, *sasts.signer, protocol::ctl_file_name, options, rng);
    } catch (const ca::CaError& e) {
        throw EncryptorError("ctl: " + target_.string() + ": " + e.what());
    }
}

Bytes CtlEncryptor::ctl_bytes() const {
    return build(load_sasts());
}

std::optional<std::string> CtlEncryptor::untrusted_signer(const Bytes& next) const {
    if (!std::filesystem::exists(target_))
        return std::nullopt;  // the first CTL: phones take it as it is
    protocol::TrustList published;
    try {
        published = protocol::parse_trust_list(read_ctl_file(target_));
    } catch (const protocol::ProtocolError& e) {
        return "the published " + target_.string() + " cannot be read (" + e.what() +
               "), so its SASTs are unknown";
    }
    std::string trusted;
    for (const auto& record : published.records) {
        if (record.role != protocol::ItlRole::sast)
            continue;
        try {
            const Botan::X509_Certificate cert(record.certificate_der);
            // What a phone does: verify the new file with a SAST it holds.
            if (ca::verify_signed_file(next, cert))
                return std::nullopt;
            trusted += (trusted.empty() ? "" : ", ") + certificate_text(cert);
        } catch (const std::exception&) {
            trusted += (trusted.empty() ? "" : ", ") + record.subject_name + " (unreadable)";
        }
    }
    return "no SAST of the published " + target_.string() + " (" +
           (trusted.empty() ? std::string("none") : trusted) +
           ") verifies it: phones holding that CTL would refuse it";
}

CtlPublication CtlEncryptor::publish_locked(const LeaseGuard& lease, bool allow_new_signer) {
    const Sasts sasts = load_sasts();
    const Bytes next = build(sasts);
    const auto& signer = sasts.signer->certificate();
    CtlPublication out{false,
                       target_,
                       ca::rfc4514_name(signer.subject_dn()),
                       serial_hex(signer.serial_number()),
                       4 + extra_.size(),
                       {}};
    if (const auto refusal = untrusted_signer(next)) {
        if (!allow_new_signer) {
            ++refusals_;
            out.refusal = "a CTL signed by " + certificate_text(signer) +
                          " was not published: " + *refusal +
                          ". Sign with a SAST the phones hold (tftp.encryptors[].signer), or "
                          "publish anyway with capfctl ctl publish --allow-new-signer once the "
                          "phones can be reset";
            log::error("ctl_signer_not_trusted", {{"file", target_.string()},
                                                  {"signer", certificate_text(signer)},
                                                  {"error", *refusal},
                                                  {"kept", "the published CTL"}});
            return out;
        }
        log::warn("ctl_new_signer_published", {{"file", target_.string()},
                                               {"signer", certificate_text(signer)},
                                               {"overridden", *refusal}});
    }
    write_file_atomically(target_, next, 0644, [&] {
        lease.require(std::chrono::milliseconds(0), "replacing " + target_.string());
    });
    log::info("ctl_published", {{"file", target_.string()},
                                {"signer", certificate_text(signer)},
                                {"records", static_cast<unsigned long long>(out.records)}});
    out.published = true;
    return out;
}

CtlPublication CtlEncryptor::publish(const LeaseGuard& lease, bool allow_new_signer) {
    const std::lock_guard lock(build_);
    return publish_locked(lease, allow_new_signer);
}

void CtlEncryptor::deliver_fleet(const LeaseGuard& lease) {
    const std::lock_guard lock(build_);
    if (!std::filesystem::exists(target_))
        publish_locked(lease, false);
}

void CtlEncryptor::deliver(const DeviceFacts& facts, DeliveryChange change,
                           const LeaseGuard& lease) {
    deliver_fleet(lease);
    if (!settings_.per_device)
        return;
    require_device_file_name(facts.name);
    const std::filesystem::path file = directory_ / ("CTL" + facts.name + ".tlv");
    const auto replace = [&] {
        lease.require(std::chrono::milliseconds(0), "replacing " + file.string());
    };
    if (facts.removed) {
        remove_file_durably(file, replace);
        return;
    }
    // The bytes published, not a new build: the per-device copy says what
    // CTLFile.tlv says, refusals included.
    const std::lock_guard lock(build_);
    write_file_atomically(file, read_ctl_file(target_), 0644, replace);
    (void)change;
}

/// "sast1" or "sast2" when `cert` is the configured one (files read now).
nlohmann::json CtlEncryptor::which_sast(const Botan::X509_Certificate& cert) const {
    for (const auto& [name, files] :
         {std::pair{"sast1", &settings_.sast1}, std::pair{"sast2", &settings_.sast2}}) {
        try {
            if (Botan::X509_Certificate(files->certificate.string()) == cert)
                return name;
        } catch (const std::exception&) {
            // An unreadable file names no SAST; the load at the next build says why.
        }
    }
    return nullptr;
}

nlohmann::json CtlEncryptor::describe_published() const {
    if (!std::filesystem::exists(target_))
        throw EncryptorError("ctl: no CTL published yet: " + target_.string() + " does not exist");
    const Bytes bytes = read_ctl_file(target_);
    protocol::TrustList list;
    try {
        list = protocol::parse_trust_list(bytes);
    } catch (const protocol::ProtocolError& e) {
        throw EncryptorError("ctl: " + target_.string() + " does not parse: " + e.what());
    }
    nlohmann::json records = nlohmann::json::array();
    for (const auto& r : list.records) {
        records.push_back({{"role", itl_role_name(r.role)},
                           {"role_number", static_cast<unsigned>(r.role)},
                           {"subject", r.subject_name},
                           {"issuer", r.issuer_name},
                           {"serial", serial_hex(r.serial)},
                           {"sha256", ca::sha256_hex(r.certificate_der)}});
    }
    const auto& h = list.header;
    nlohmann::json signer = {{"name", h.signer.signer_name},
                             {"issuer", h.signer.issuer_name},
                             {"serial", serial_hex(h.signer.serial)},
                             {"sast", nullptr},
                             {"record", nullptr}};
    bool valid = false;
    if (const auto index = protocol::signer_record(list)) {
        signer["record"] = *index;
        try {
            const Botan::X509_Certificate cert(list.records[*index].certificate_der);
            valid = ca::verify_signed_file(bytes, cert);
            signer["sast"] = which_sast(cert);
        } catch (const std::exception&) {
            valid = false;  // a record whose certificate does not parse verifies nothing
        }
    }
    return {{"file", target_.string()},
            {"bytes", bytes.size()},
            {"timestamp", h.timestamp},
            {"hash", h.hash == protocol::FileHash::sha1 ? "sha1" : "sha512"},
            {"signer", signer},
            {"signature_valid", valid},
            {"records", records},
            {"signer_refusals", refusals_.load()}};
}

void CtlEncryptor::identities_changed() {
    // Not a device's delivery: the CTL follows this node's files.
    publish(LeaseGuard::unlimited(), false);
}

}  // namespace capf::tftp
