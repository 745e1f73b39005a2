// capfd's configuration: one JSON file, every key documented in
// deploy/CONFIG.md, validated as a whole at start.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "ca/key_spec.hpp"
#include "capf/common/log.hpp"

namespace capf {

enum class TlsPolicy {
    legacy,  ///< TLS 1.0-1.2 incl. RSA key exchange + AES-128-CBC-SHA, for old phones
    strict,  ///< TLS 1.2 only, ECDHE, AEAD
};

using LogLevel = log::Level;

/// What a certificate chain of one role (LSC, MIC, SUDI) must meet. The
/// defaults are the `legacy` profile: old MICs have 1024-bit keys and SHA-1
/// signatures.
struct ChainRules {
    unsigned min_rsa_bits = 1024;
    bool accept_sha1 = true;
    friend bool operator==(const ChainRules&, const ChainRules&) = default;
};

/// The digest of the TFTP files' signatures (protocol/README.md, 8.1).
enum class TftpFileHash { sha1, sha512 };

/// `enc-sgn`: SEP<MAC>.cnf.xml.enc.sgn and the signed partial configuration,
/// from the plain configuration the provisioning system writes.
struct EncSgnEncryptorConfig {
    /// Where SEP<MAC>.cnf.xml is read; never inside the TFTP directory.
    std::filesystem::path source_directory;
    TftpFileHash hash = TftpFileHash::sha512;
    /// Remove a plaintext SEP<MAC>.cnf.xml from the TFTP directory once its
    /// .enc.sgn is written (section 8.3: it must not stay there).
    bool remove_plaintext = false;
    /// When the device's LSC is revoked, its .enc.sgn is removed and its
    /// .sgn is removed too (false), or becomes the whole configuration
    /// signed but not encrypted (true): the operator's choice between a
    /// phone that keeps working unencrypted and one that loses its
    /// configuration.
    bool sign_plain_when_revoked = false;
};

/// A certificate chain and its private key (PKCS#8 PEM, maybe encrypted).
/// At namespace level so that encryptor settings can hold one too.
struct KeyPairConfig {
    std::filesystem::path certificate;
    std::filesystem::path private_key;
    /// The passphrase of an encrypted key: read from this file...
    std::optional<std::filesystem::path> passphrase_file;
    /// ...or from this environment variable. Never from the config itself.
    std::optional<std::string> passphrase_env;
};

/// A certificate added to the ITL beside the TFTP and CAPF ones.
struct ItlExtraCertificate {
    std::filesystem::path certificate;
    /// ccm, ccm-tftp, tftp, capf, app-server or tvs.
    std::string role;
};

/// `itl`: ITLFile.tlv in the TFTP directory.
struct ItlEncryptorConfig {
    TftpFileHash hash = TftpFileHash::sha512;
    std::vector<ItlExtraCertificate> extra;
    /// Publish the rollback ITL (protocol/README.md, "Rollback ITL") from
    /// start; `capfctl itl rollback on` turns it on for every node too.
    bool rollback = false;
};

/// `ctl`: CTLFile.tlv in the TFTP directory (protocol/README.md, section
/// 10), signed by one of two SAST identities and listing both.
struct CtlEncryptorConfig {
    TftpFileHash hash = TftpFileHash::sha512;
    KeyPairConfig sast1{"/etc/capfd/sast1.crt", "/etc/capfd/sast1.key", {}, {}};
    KeyPairConfig sast2{"/etc/capfd/sast2.crt", "/etc/capfd/sast2.key", {}, {}};
    /// Which SAST signs: sast1, or sast2 once SAST1's key is lost or retired.
    enum class Signer { sast1, sast2 };
    Signer signer = Signer::sast1;
    /// ccm, ccm-tftp, tftp, capf or app-server (no TVS in a CTL).
    std::vector<ItlExtraCertificate> extra;
    /// Also CTLSEP<MAC>.tlv per device, the same bytes (as IOS CME does).
    bool per_device = false;
};

/// `exec`: a program run with the facts as JSON on standard input.
struct ExecEncryptorConfig {
    /// argv[0] is an absolute path; no shell is involved.
    std::vector<std::string> argv;
    std::chrono::milliseconds timeout = std::chrono::seconds(30);
};

/// `hashes-file`: an export of every device's name, MD5, key spec and key.
struct HashesFileEncryptorConfig {
    enum class Format { csv, json };
    std::filesystem::path path;
    Format format = Format::csv;
};

/// One configured encryptor; its type name is the config's "type".
using EncryptorConfig = std::variant<EncSgnEncryptorConfig, ItlEncryptorConfig, ExecEncryptorConfig,
                                     HashesFileEncryptorConfig, CtlEncryptorConfig>;

/// "enc-sgn", "itl", "exec", "hashes-file" or "ctl".
std::string_view encryptor_type_name(const EncryptorConfig& config) noexcept;

struct Config {
    struct Listen {
        std::string address = "0.0.0.0";
        std::uint16_t port = 3804;
    } listen;

    struct Tls {
        TlsPolicy policy = TlsPolicy::legacy;
    } tls;

    using KeyPair = KeyPairConfig;
    /// Presented to phones in TLS.
    KeyPair identity{"/etc/capfd/capf.crt", "/etc/capfd/capf.key", {}, {}};
    /// Signs LSCs; the identity when absent.
    std::optional<KeyPair> issuer;

    /// Trust anchors loaded at start and again on SIGHUP. The issuer's own
    /// certificate is always an LSC anchor; list retired issuers here.
    struct Trust {
        std::vector<std::filesystem::path> lsc_issuers;
        std::vector<std::filesystem::path> mic_roots;
        /// Intermediate CA certificates offered to path validation (e.g. a
        /// manufacturing CA between a MIC and its root).
        std::vector<std::filesystem::path> intermediates;
        /// Roots that SUDI certificates must chain to.
        std::vector<std::filesystem::path> sudi_roots;
        /// The chain policy profile, "legacy" or "strict"; the rules below
        /// start from it and take the per-role overrides on top.
        std::string policy = "legacy";
        ChainRules lsc, mic, sudi;
    } trust;

    struct Lsc {
        unsigned validity_days = 365;
        ca::KeySpec default_key_spec;
    } lsc;

    struct Keygen {
        std::chrono::milliseconds timeout = std::chrono::minutes(30);
        unsigned retries = 3;
    } keygen;

    struct Auth {
        std::string default_mode = "auth-string";
        unsigned lockout_failures = 5;
        /// PBKDF2-SHA256 iterations of stored auth-string hashes. Bulk
        /// generation for a fleet costs this per phone (about 1.8 ms at
        /// 10,000 on this project's reference machine).
        unsigned hash_iterations = 10000;
        /// Every certificate authentication must carry a valid SUDI.
        bool require_sudi = false;
    } auth;

    struct Limits {
        unsigned max_sessions = 10000;
        /// Concurrent sessions from one IP address, so one host cannot hold
        /// every slot.
        unsigned max_sessions_per_source = 32;
        /// From the end of the TLS handshake to AUTH_RESPONSE; shorter than
        /// read_timeout so unauthenticated peers cannot hold slots long.
        std::chrono::milliseconds auth_timeout = std::chrono::seconds(10);
        /// Blocking-pool jobs that may wait; beyond it new sessions are refused.
        std::size_t blocking_queue = 1024;
        std::chrono::milliseconds handshake_timeout = std::chrono::seconds(30);
        std::chrono::milliseconds read_timeout = std::chrono::seconds(60);
        std::size_t max_message_size = 16 * 1024;
        std::chrono::milliseconds shutdown_grace = std::chrono::seconds(30);
        /// Out of descriptors or memory at accept (EMFILE and the like):
        /// the phone and admin listeners wait this long between tries.
        std::chrono::milliseconds accept_backoff = std::chrono::milliseconds(100);
    } limits;

    struct Database {
        /// libpq connection string. Empty: the embedded default of the quick start.
        std::string connection;
        unsigned pool_size = 8;
        /// PostgreSQL statement_timeout and lock_timeout of every
        /// connection; zero turns them off.
        std::chrono::milliseconds statement_timeout = std::chrono::seconds(30);
        std::chrono::milliseconds lock_timeout = std::chrono::seconds(10);
    } database;

    struct Node {
        /// Owner of operation leases; must differ between capfd processes
        /// sharing a database. Defaults to the host name.
        std::string name;
    } node;

    struct Admin {
        std::filesystem::path socket_path = "/run/capfd/admin.sock";
        unsigned socket_mode = 0660;
        std::optional<std::string> allowed_group;
        std::vector<std::string> allowed_users;
        /// May connect and call the read methods only (capf/admin/access.hpp).
        std::vector<std::string> readonly_users;
        std::vector<std::string> readonly_groups;
        std::size_t max_request_size = 1024 * 1024;
        std::chrono::milliseconds client_timeout = std::chrono::seconds(30);
    } admin;

    /// What is kept, and for how long: the audit log and the delivered rows
    /// of the TFTP outbox are deleted past their retention by every node's
    /// maintenance, in bounded batches.
    struct Audit {
        std::chrono::milliseconds retention = std::chrono::hours(24 * 400);
        /// Delivered outbox rows: history only, the TFTP side needs none.
        std::chrono::milliseconds outbox_retention = std::chrono::hours(24);
        /// Rows one statement deletes; the pool's other jobs run between batches.
        unsigned purge_batch = 5000;
        std::chrono::milliseconds purge_interval = std::chrono::hours(1);
    } audit;

    struct Log {
        LogLevel level = LogLevel::info;
    } log;

    /// The TFTP side (issue 12): absent, capfd delivers nothing to TFTP.
    struct Tftp {
        /// Signs .sgn, .enc.sgn and ITL files; RSA only (phones verify with RSA).
        KeyPair identity{"/etc/capfd/tftp.crt", "/etc/capfd/tftp.key", {}, {}};
        /// The directory the TFTP server serves; empty when not configured
        /// (only `exec` and `hashes-file` work without it).
        std::filesystem::path directory;
        /// How the outbox of device changes is delivered to the encryptors.
        struct Delivery {
            std::chrono::milliseconds retry_first = std::chrono::seconds(10);
            std::chrono::milliseconds retry_max = std::chrono::minutes(10);
            /// A node's claim on a notification; another node may take it after.
            std::chrono::milliseconds lease = std::chrono::minutes(5);
            unsigned batch = 32;
            /// How often deliveries parked for a missing source file are
            /// looked at again.
            std::chrono::milliseconds parked_recheck = std::chrono::minutes(1);
        } delivery;
        std::vector<EncryptorConfig> encryptors;
    };
    std::optional<Tftp> tftp;

    /// The Trust Verification Service (TCP 2445, protocol/README.md): absent
    /// or `"enabled": false`, capfd does not listen for it. TLS policy,
    /// handshake timeout and accept backoff are the phone listener's
    /// (`tls`, `limits`).
    struct Tvs {
        struct Listen {
            std::string address = "0.0.0.0";
            std::uint16_t port = 2445;
        } listen;
        /// Presented to phones; its certificate is the ITL's TVS record.
        KeyPair identity{"/etc/capfd/tvs.crt", "/etc/capfd/tvs.key", {}, {}};
        /// TTL of a certificate added without one.
        std::chrono::milliseconds default_ttl = std::chrono::hours(24);
        unsigned max_sessions = 10000;
        /// Concurrent connections from one IP address.
        unsigned max_sessions_per_source = 32;
        /// From the handshake (or the last answer) to a whole request.
        std::chrono::milliseconds read_timeout = std::chrono::seconds(10);
        /// Phones send one; a client may send more, up to this many.
        unsigned max_requests_per_connection = 100;
        /// Body bytes of one request (a certificate and a device name).
        std::size_t max_request_size = 16 * 1024;
        /// How often the trusted-certificate store's change counter is read:
        /// a change made through another node is answered within this.
        std::chrono::milliseconds refresh_interval = std::chrono::seconds(2);
    };
    std::optional<Tvs> tvs;
};

/// A configuration that cannot be used. message() lists every problem, one
/// per line, each naming the file, the key, the value and what is allowed.
class ConfigError : public std::runtime_error {
  public:
    explicit ConfigError(std::vector<std::string> problems);
    const std::vector<std::string>& problems() const noexcept { return problems_; }

  private:
    std::vector<std::string> problems_;
};

/// Parses and validates a configuration document. `origin` names the file in
/// messages. Unknown keys are errors (a typo must not silently fall back to a
/// default). Throws ConfigError listing all problems found.
Config parse_config(std::string_view json_text, std::string_view origin = "<config>");

/// The `ctl` encryptor's settings, or nothing when none is configured.
const CtlEncryptorConfig* ctl_encryptor(const Config& config) noexcept;
/// Whether the `itl` encryptor's `rollback` is set.
bool itl_rollback_configured(const Config& config) noexcept;

/// Reads and parses a configuration file; a file that cannot be read is a
/// ConfigError too.
Config load_config(const std::filesystem::path& path);

/// Parses "250ms", "90s", "30m", "2h", "400d". Nothing when malformed.
std::optional<std::chrono::milliseconds> parse_duration(std::string_view text);
/// The shortest such text of `d` that parse_duration reads back ("24h",
/// "400d"), as messages and logs show durations.
std::string format_duration(std::chrono::milliseconds d);

}  // namespace capf
