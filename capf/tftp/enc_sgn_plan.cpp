#include "capf/tftp/enc_sgn_plan.hpp"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "ca/error.hpp"
#include "ca/public_key.hpp"

namespace capf::tftp {
namespace {

/// The name becomes part of file paths: it must not climb out of them.
void require_plain_file_name(const std::string& device) {
    if (device.empty() || device == "." || device == ".." ||
        device.find_first_of("/\\") != std::string::npos || device.find('\0') != std::string::npos)
        throw EncryptorError(ParkCause::invalid_device_name,
                             "enc-sgn: device name \"" + device + "\" is not a plain file name");
}

void require_rsa_key(const DeviceFacts& facts) {
    ca::KeySpec spec;
    try {
        spec = ca::describe_public_key(*facts.public_key_der);
    } catch (const ca::CaError& e) {
        throw EncryptorError("enc-sgn: " + facts.name + ": the public key on record: " + e.what());
    }
    if (spec.algorithm != ca::KeySpec::Algorithm::rsa) {
        throw EncryptorError(ParkCause::key_not_rsa,
                             "enc-sgn: " + facts.name + " has an " + spec.text() +
                                 " key; SEP<MAC>.cnf.xml.enc.sgn wraps the AES key with RSA only, "
                                 "so its configuration cannot be encrypted (issue it an RSA LSC)");
    }
}

}  // namespace

EncSgnPlan plan_enc_sgn(const DeviceFacts& facts, DeliveryChange change,
                        const std::filesystem::path& source_directory,
                        const std::filesystem::path& tftp_directory, bool sign_plain_when_revoked) {
    require_plain_file_name(facts.name);
    EncSgnPlan plan;
    plan.device = facts.name;
    const std::string config_name = facts.name + ".cnf.xml";
    plan.source = source_directory / config_name;
    plan.encrypted_target = tftp_directory / (config_name + ".enc.sgn");
    plan.partial_target = tftp_directory / (config_name + ".sgn");
    plan.plaintext_in_tftp = tftp_directory / config_name;
    if (const auto reason = withdrawal_reason(facts, change)) {
        const bool sign_plain = *reason == "revoked" && sign_plain_when_revoked;
        plan.signed_file = sign_plain ? EncSgnPlan::Signed::whole : EncSgnPlan::Signed::withdrawn;
        return plan;
    }
    const bool has_key = facts.public_key_der && !facts.public_key_der->empty();
    plan.encrypt = change != DeliveryChange::deleted && has_key;
    if (plan.encrypt) {
        require_rsa_key(facts);
        plan.cert_hash = facts.md5_hex;
    }
    return plan;
}

std::string read_source_config(const EncSgnPlan& plan) {
    std::ifstream in(plan.source, std::ios::binary);
    if (!in) {
        const int error = errno;
        if (error == ENOENT)
            throw EncryptorError(ParkCause::no_source_file,
                                 "enc-sgn: no " + plan.source.filename().string() + " in " +
                                     plan.source.parent_path().string());
        throw EncryptorError("enc-sgn: cannot read " + plan.source.string() + ": " +
                             std::strerror(error));
    }
    std::ostringstream text;
    text << in.rdbuf();
    if (in.bad())
        throw EncryptorError("enc-sgn: cannot read " + plan.source.string());
    return text.str();
}

}  // namespace capf::tftp
