// capfd's setup from its configuration: the database pool, the chain
// policy, and `capfd init` (the CAPF identity, the TFTP signing identity,
// the SAST identities and the schema).
#pragma once

#include <string>
#include <vector>

#include "ca/identity.hpp"
#include "ca/verify.hpp"
#include "capf/common/config.hpp"
#include "storage/connection_pool.hpp"

namespace capf {

ca::Passphrase passphrase_of(const Config::KeyPair& kp);

/// Throws StorageError(unreachable) when no connection is configured.
storage::PoolOptions pool_options(const Config& config);

/// The configured trust.policy (with its per-role overrides) and auth.require_sudi.
ca::VerifyPolicy verify_policy(const Config& config);

/// Descriptors capfd needs beside its phone sessions: the database pool, the
/// admin clients, exec encryptors' pipes, files being written.
inline constexpr unsigned long long descriptors_beside_sessions = 256;

/// Raises the soft open-file limit to the hard one (a session is one
/// descriptor) and warns when even that is below limits.max_sessions plus
/// descriptors_beside_sessions: phones past it would meet EMFILE at accept.
void raise_open_file_limit(const Config& config);

struct InitOptions {
    std::string common_name;
    std::string organization;
    std::string organizational_unit;
    std::string country;
    std::string key = "rsa-2048";
    unsigned days = 3650;
    bool tftp = false;                  ///< also the TFTP signing identity (tftp.identity)
    std::string tftp_key = "rsa-2048";  ///< RSA only: phones verify TFTP signatures with RSA
    std::string tftp_common_name;       ///< default TFTP-<node>
    bool tvs = false;                   ///< also the TVS identity (tvs.identity)
    std::string tvs_key = "rsa-2048";   ///< RSA or EC, as phones accept
    std::string tvs_common_name;        ///< default TVS-<node>
    /// SAST identities to create (1, 2): the `ctl` encryptor's sast1/sast2.
    std::vector<unsigned> sast;
    std::string sast_key = "rsa-2048";  ///< RSA only: phones verify CTL signatures with RSA
    std::string sast_common_name;       ///< default SAST<n>-<node>; with one --sast only
};

/// Creates what is missing (an existing identity is never replaced: phones
/// trust it through their ITL) and applies the migrations. 0, or 2 for a
/// bad option (the message is on standard error).
int run_init(const Config& config, const InitOptions& options);

}  // namespace capf
