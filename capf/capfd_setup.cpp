#include "capf/capfd_setup.hpp"

#include <sys/resource.h>

#include <filesystem>
#include <iostream>
#include <optional>
#include <span>

#include "ca/key_spec.hpp"
#include "ca/tftp_files.hpp"
#include "capf/common/log.hpp"
#include "storage/error.hpp"
#include "storage/migrations.hpp"

namespace capf {
namespace {

ca::ChainPolicy chain_policy(const ChainRules& rules) {
    return ca::ChainPolicy{rules.min_rsa_bits, rules.accept_sha1};
}

/// What an identity to create is for: its name in messages and logs, and
/// the keys it may have.
struct IdentityKind {
    const char* what;    ///< "CAPF", "TFTP"
    const char* option;  ///< the init option naming its key
    std::span<const ca::KeySpec> keys;
};

/// Creates the identity of `files` unless it exists (then it is loaded, so
/// a wrong passphrase or a bad key fails here). Nothing when the key spec is
/// not one of `kind.keys` (the message is on standard error).
bool ensure_identity(const Config::KeyPair& files, ca::IdentityProfile profile,
                     const std::string& key, const IdentityKind& kind) {
    if (std::filesystem::exists(files.certificate) || std::filesystem::exists(files.private_key)) {
        ca::load_identity(files.certificate, files.private_key, passphrase_of(files));
        log::info("identity_kept",
                  {{"identity", kind.what}, {"certificate", files.certificate.string()}});
        return true;
    }
    const auto spec = ca::parse_key_spec(key);
    if (!spec || !ca::is_one_of(*spec, kind.keys)) {
        std::cerr << "capfd init: " << kind.option << " '" << key << "' is not a " << kind.what
                  << " identity key; use one of " << ca::key_spec_list(kind.keys) << "\n";
        return false;
    }
    profile.key = *spec;
    if (files.certificate.has_parent_path())
        std::filesystem::create_directories(files.certificate.parent_path());
    if (files.private_key.has_parent_path())
        std::filesystem::create_directories(files.private_key.parent_path());
    // Read (and its file's mode checked) before anything is written: a
    // configured passphrase means the key is written encrypted.
    const auto passphrase = ca::read_passphrase(passphrase_of(files));
    const auto identity = ca::generate_identity(profile);
    ca::write_identity(identity, files.certificate, files.private_key, passphrase);
    log::info("identity_created", {{"identity", kind.what},
                                   {"certificate", files.certificate.string()},
                                   {"private_key", files.private_key.string()},
                                   {"subject", profile.common_name},
                                   {"key", spec->text()},
                                   {"key_encrypted", passphrase ? "yes" : "no"}});
    return true;
}

/// `capfd init --sast N`: the SAST identities at the `ctl` encryptor's
/// paths (or the defaults), each unless it exists. Signs CTLs, never
/// certificates: the TFTP signer's profile, RSA only.
bool ensure_sasts(const Config& config, const InitOptions& opts, ca::IdentityProfile profile) {
    if (!opts.sast_common_name.empty() && opts.sast.size() > 1) {
        std::cerr << "capfd init: --sast-cn names one SAST: give it with one --sast\n";
        return false;
    }
    const CtlEncryptorConfig defaults;
    const CtlEncryptorConfig& ctl = ctl_encryptor(config) ? *ctl_encryptor(config) : defaults;
    const auto keys = ca::tftp_key_specs();
    profile.role = ca::IdentityRole::tftp;
    for (const unsigned n : opts.sast) {
        const std::string what = "SAST" + std::to_string(n);
        profile.common_name =
            opts.sast_common_name.empty() ? what + "-" + config.node.name : opts.sast_common_name;
        if (!ensure_identity(n == 1 ? ctl.sast1 : ctl.sast2, profile, opts.sast_key,
                             {what.c_str(), "--sast-key", keys}))
            return false;
    }
    return true;
}

/// An identity `capfd init` creates on request (--tftp, --tvs), in the
/// files of its configuration section.
struct SectionIdentity {
    const char* flag;
    const char* section;           ///< what the configuration must have, for the message
    const Config::KeyPair* files;  ///< null when that section is absent
    std::string common_name;
    ca::IdentityRole role;
    const std::string& key;
    IdentityKind kind;
};

/// ensure_identity() for `identity`, or false (the message on standard
/// error) when its section is missing.
bool ensure_section_identity(ca::IdentityProfile profile, const SectionIdentity& identity) {
    if (identity.files == nullptr) {
        std::cerr << "capfd init: " << identity.flag << " needs " << identity.section
                  << " in the configuration (deploy/CONFIG.md)\n";
        return false;
    }
    profile.common_name = identity.common_name;
    profile.role = identity.role;
    return ensure_identity(*identity.files, profile, identity.key, identity.kind);
}

}  // namespace

ca::Passphrase passphrase_of(const Config::KeyPair& kp) {
    return ca::Passphrase{kp.passphrase_file, kp.passphrase_env};
}

storage::PoolOptions pool_options(const Config& config) {
    if (config.database.connection.empty()) {
        throw storage::StorageError(storage::StorageErrc::unreachable,
                                    "database.connection is empty: set it in the configuration "
                                    "(the quick start writes one for its private PostgreSQL)");
    }
    storage::PoolOptions options{config.database.connection, config.database.pool_size};
    options.statement_timeout = config.database.statement_timeout;
    options.lock_timeout = config.database.lock_timeout;
    return options;
}

ca::VerifyPolicy verify_policy(const Config& config) {
    return ca::VerifyPolicy{chain_policy(config.trust.lsc), chain_policy(config.trust.mic),
                            chain_policy(config.trust.sudi), config.auth.require_sudi};
}

int run_init(const Config& config, const InitOptions& opts) {
    ca::IdentityProfile profile;
    profile.common_name = opts.common_name.empty() ? "CAPF-" + config.node.name : opts.common_name;
    profile.organization = opts.organization;
    profile.organizational_unit = opts.organizational_unit;
    profile.country = opts.country;
    profile.validity_days = opts.days;
    if (!ensure_identity(config.identity, profile, opts.key,
                         {"CAPF", "--key", ca::identity_key_specs()}))
        return 2;
    if (opts.tftp && !ensure_section_identity(
                         profile, {"--tftp",
                                   "a \"tftp\" section with \"identity\"",
                                   config.tftp ? &config.tftp->identity : nullptr,
                                   opts.tftp_common_name.empty() ? "TFTP-" + config.node.name
                                                                 : opts.tftp_common_name,
                                   // signs files, never certificates
                                   ca::IdentityRole::tftp,
                                   opts.tftp_key,
                                   {"TFTP", "--tftp-key", ca::tftp_key_specs()}}))
        return 2;
    if (opts.tvs &&
        !ensure_section_identity(profile, {"--tvs",
                                           "an enabled \"tvs\" section",
                                           config.tvs ? &config.tvs->identity : nullptr,
                                           opts.tvs_common_name.empty() ? "TVS-" + config.node.name
                                                                        : opts.tvs_common_name,
                                           ca::IdentityRole::tvs,
                                           opts.tvs_key,
                                           {"TVS", "--tvs-key", ca::identity_key_specs()}}))
        return 2;
    if (!ensure_sasts(config, opts, profile))
        return 2;
    storage::ConnectionPool pool(pool_options(config));
    const int version = storage::apply_migrations(pool);
    log::info("schema_ready", {{"version", version}});
    return 0;
}

void raise_open_file_limit(const Config& config) {
    rlimit limit{};
    if (::getrlimit(RLIMIT_NOFILE, &limit) != 0) {
        return;
    }
    if (limit.rlim_cur < limit.rlim_max) {
        rlimit raised = limit;
        raised.rlim_cur = limit.rlim_max;
        if (::setrlimit(RLIMIT_NOFILE, &raised) == 0) {
            limit = raised;
        }
    }
    const unsigned long long needed = config.limits.max_sessions + descriptors_beside_sessions;
    if (limit.rlim_cur != RLIM_INFINITY && limit.rlim_cur < needed) {
        log::warn("open_file_limit_low",
                  {{"limit", static_cast<unsigned long long>(limit.rlim_cur)},
                   {"max_sessions", config.limits.max_sessions},
                   {"needed", needed},
                   {"hint", "raise LimitNOFILE= (ulimit -n) or lower limits.max_sessions"}});
    }
}

}  // namespace capf
