// What `enc-sgn` does for one device change, decided without cryptography
// (so it is testable alone): which files, which certHash, write or remove.
#pragma once

#include <filesystem>
#include <string>

#include "capf/tftp/encryptor.hpp"

namespace capf::tftp {

struct EncSgnPlan {
    std::string device;                       ///< SEP<MAC>
    std::filesystem::path source;             ///< source_directory/D.cnf.xml (plaintext)
    std::filesystem::path encrypted_target;   ///< tftp/D.cnf.xml.enc.sgn
    std::filesystem::path partial_target;     ///< tftp/D.cnf.xml.sgn
    std::filesystem::path plaintext_in_tftp;  ///< tftp/D.cnf.xml, never written by us
    /// Write the .enc.sgn (a key is on record and the device was not
    /// deleted); otherwise remove it, so the phone goes back to CAPF.
    bool encrypt = false;
    /// certHash of the partial configuration: the MD5 when encrypting, else empty.
    std::string cert_hash;
    /// What D.cnf.xml.sgn becomes.
    enum class Signed {
        partial,    ///< the signed partial configuration of section 8.3 (with cert_hash)
        whole,      ///< the whole configuration, signed, not encrypted (a revoked LSC,
                    ///< when the operator's configuration says so)
        withdrawn,  ///< removed (a removed device, or a revoked LSC by default)
    } signed_file = Signed::partial;
};

/// Throws EncryptorError for a device name that is not a plain file name
/// (permanent, invalid_device_name), and, when encrypting, for a device key
/// that is not RSA (permanent, key_not_rsa, naming the key spec: the .enc.sgn
/// format wraps the AES key with RSA only) or that does not parse.
/// A removed device (facts.removed) has everything withdrawn; after a
/// revoked LSC (`change` revoked, the facts without a key) the .enc.sgn is
/// removed and the .sgn withdrawn, or whole when `sign_plain_when_revoked`.
EncSgnPlan plan_enc_sgn(const DeviceFacts& facts, DeliveryChange change,
                        const std::filesystem::path& source_directory,
                        const std::filesystem::path& tftp_directory,
                        bool sign_plain_when_revoked = false);

/// The plaintext configuration. Throws EncryptorError "no D.cnf.xml in DIR"
/// when it is missing (permanent, no_source_file: parked until the
/// provisioning system writes it) or naming the file and strerror when
/// unreadable.
std::string read_source_config(const EncSgnPlan& plan);

}  // namespace capf::tftp
