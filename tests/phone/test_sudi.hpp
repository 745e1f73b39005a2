// The SUDI a test phone sends, made the way the tests make MICs: a test
// "manufacturer" root kept in a directory shared by the phones of one run,
// and per phone a SUDI certificate from it that names the phone
// (CN CP-8845-<name>, serialNumber "PID:CP-8845 SN:<name>"). Real
// 7800/8800-class phones add their SUDI to every certificate authentication
// (protocol/README.md, section 5.3), so capf-phone does too by default.
#pragma once

#include <botan/pk_keys.h>
#include <botan/x509cert.h>

#include <filesystem>
#include <memory>
#include <string>

namespace capf::test {

struct TestSudi {
    Botan::X509_Certificate certificate;
    std::unique_ptr<Botan::Private_Key> key;
};

/// The phone `device_name`'s SUDI, kept in `state_dir` (sudi.pem) and
/// issued by the root in `ca_dir` (root.pem and root-key.pem, PKCS#8 PEM).
/// The root is made when `ca_dir` does not exist; the SUDI key, one per
/// root (ca_dir/sudi-key.pem), when it is missing: one RSA key generation
/// per run, not per phone (the server checks each session's proof and each
/// certificate's names; sharing the key changes neither). The phone's SUDI
/// is issued again when it is missing or another root signed it. Safe when
/// several phones of one run start at once: every file appears whole, and
/// the first writer's wins. Throws std::runtime_error naming the file.
TestSudi load_or_make_test_sudi(const std::string& device_name,
                                const std::filesystem::path& state_dir,
                                const std::filesystem::path& ca_dir);

}  // namespace capf::test
