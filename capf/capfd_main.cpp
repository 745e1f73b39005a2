// capfd: the CAPF service daemon.
//
// capfd [--config FILE]                    serve phones and the admin socket
// capfd init [--config FILE] [--cn NAME]   create the CAPF identity (unless one exists) and
//                                          the database schema
// capfd --check-config --config FILE       validate the configuration and exit
#include <CLI/CLI.hpp>
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>
#include <asio/signal_set.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>
#include <csignal>
#include <filesystem>
#include <iostream>
#include <optional>
#include <system_error>
#include <thread>

#include "ca/error.hpp"
#include "ca/identity.hpp"
#include "ca/issuer.hpp"
#include "ca/tftp_files.hpp"
#include "ca/trust_store.hpp"
#include "capf/admin/access.hpp"
#include "capf/admin/methods.hpp"
#include "capf/admin/server.hpp"
#include "capf/capfd_setup.hpp"
#include "capf/common/blocking_pool.hpp"
#include "capf/common/config.hpp"
#include "capf/common/deadline.hpp"
#include "capf/common/log.hpp"
#include "capf/common/service_manager.hpp"
#include "capf/common/standard_descriptors.hpp"
#include "capf/common/version.hpp"
#include "capf/phone/listener.hpp"
#include "capf/phone/session.hpp"
#include "capf/service/ca_authority.hpp"
#include "capf/service/device_store.hpp"
#include "capf/service/own_certificates.hpp"
#include "capf/service/retention.hpp"
#include "capf/service/trust_loader.hpp"
#include "capf/tftp/tftp_side.hpp"
#include "capf/tls/policy.hpp"
#include "capf/tvs/tvs_service.hpp"
#include "storage/error.hpp"
#include "storage/migrations.hpp"
#include "storage/operation_schedule.hpp"
#include "storage/trust_anchor_repository.hpp"
#include "storage/trusted_certificates.hpp"

namespace {

namespace log = capf::log;
namespace ca = capf::ca;
namespace storage = capf::storage;
namespace protocol = capf::protocol;
using capf::Config;
using capf::InitOptions;
using capf::passphrase_of;
using capf::pool_options;
using capf::run_init;
using capf::verify_policy;

/// Everything one capfd process runs, built in dependency order and torn
/// down in reverse, except the blocking pool: it is joined first.
struct Service {
    explicit Service(const Config& c);
    /// Jobs still running or queued when the I/O threads stop use members
    /// destroyed before the pool (the TFTP side's encryptors, the listener,
    /// the admin server): they finish before any of those goes. Joined by
    /// ~BlockingPool instead, a SIGTERM while an exec encryptor ran crashed
    /// capfd in that encryptor after "stopped" (exit 139).
    ~Service() { pool.join(); }
    Service(const Service&) = delete;
    Service& operator=(const Service&) = delete;

    const Config& config;
    const std::chrono::system_clock::time_point started_at = std::chrono::system_clock::now();
    const ca::Identity identity;
    const ca::Identity issuer_identity;
    const ca::LscIssuer issuer{issuer_identity};
    storage::ConnectionPool db;
    storage::OperationSchedule schedule{db};
    storage::TrustAnchorRepository anchors{db};
    ca::TrustStore trust;
    capf::StorageDeviceStore store;
    capf::CaAuthority authority{issuer, trust, config.lsc.validity_days, verify_policy(config)};
    capf::TlsCredentials credentials{identity.chain, identity.key};
    const unsigned threads = std::max(1u, std::thread::hardware_concurrency());
    asio::io_context io{static_cast<int>(threads)};
    // Database calls and private-key work run here, never on I/O threads.
    // Bounded: when limits.blocking_queue jobs wait, admit() refuses new
    // sessions (sessions already running use run(), which never refuses).
    capf::BlockingPool pool{config.database.pool_size + 2, config.limits.blocking_queue};
    capf::PhoneListener listener;
    capf::tftp::TftpSide tftp{config, identity, db, pool};
    storage::TrustedCertificateRepository trusted{db};
    /// Null when the TVS is off (no enabled "tvs" section).
    std::unique_ptr<capf::tvs::TvsService> tvs;
    /// The store's change counter when the ITL's TVS records were last read.
    std::int64_t trusted_version_seen = -1;
    capf::jsonrpc::Registry registry;
    capf::AdminContext admin_context;
    const capf::AdminAccessPolicy policy{config.admin};
    capf::AdminServer admin;
};

std::chrono::seconds tvs_default_ttl(const Config& c) {
    return std::chrono::duration_cast<std::chrono::seconds>(c.tvs ? c.tvs->default_ttl
                                                                  : Config::Tvs{}.default_ttl);
}

/// This node's certificates, with the roles the trusted-certificate store
/// keeps them under: CAPF, TFTP (when the TFTP side is on), TVS (when it is
/// on) and the CTL's SAST certificates (when their files exist).
std::vector<capf::OwnCertificate> own_certificates(const Service& s);

/// Makes this node's automatic entries of the store its certificates now
/// (at start, and after SIGHUP reloaded the TFTP identity). Blocking.
void register_own_certificates(Service& s);

/// The TVS certificates of every node, from the store, to the ITL (which is
/// rebuilt by the caller when they changed). Blocking. Whether they changed.
bool follow_trusted_store(Service& s);

ca::Identity load_issuer(const Config& config, const ca::Identity& identity) {
    if (!config.issuer)
        return identity;
    return ca::load_identity(config.issuer->certificate, config.issuer->private_key,
                             passphrase_of(*config.issuer));
}

Service::Service(const Config& c)
    : config(c),
      identity(ca::load_identity(c.identity.certificate, c.identity.private_key,
                                 passphrase_of(c.identity))),
      issuer_identity(load_issuer(c, identity)),
      db(pool_options(c)),
      store(db, capf::StoreSettings{c.node.name, static_cast<int>(c.auth.lockout_failures),
                                    capf::operation_lease(c)}),
      listener(io,
               capf::PhoneListenerOptions{
                   asio::ip::tcp::endpoint(asio::ip::make_address(c.listen.address), c.listen.port),
                   c.limits.max_sessions, c.limits.max_sessions_per_source,
                   c.limits.handshake_timeout, c.tls.policy, c.limits.accept_backoff},
               credentials,
               capf::make_phone_session_handler(
                   capf::DialogueSettings{c.node.name, c.limits.read_timeout, c.limits.auth_timeout,
                                          c.keygen.timeout, c.keygen.retries},
                   protocol::DecodeLimits{c.limits.max_message_size}, store, authority, pool)),
      admin_context{c,         db, anchors, identity, issuer_identity, trust, &listener.stats(),
                    started_at},
      admin(io,
            capf::AdminServerOptions{c.admin.socket_path, c.admin.socket_mode,
                                     c.admin.max_request_size, c.admin.client_timeout, 64,
                                     c.limits.accept_backoff},
            registry, policy, pool) {
    storage::apply_migrations(db);
    capf::reload_trust(trust, config, issuer_identity, anchors);
    if (c.tvs)
        tvs = std::make_unique<capf::tvs::TvsService>(io, c, trusted, pool);
    // Before the TFTP side builds its first ITL: it lists every node's TVS.
    register_own_certificates(*this);
    follow_trusted_store(*this);
    admin_context.tvs_default_ttl = tvs_default_ttl(c);
    if (tvs) {
        admin_context.tvs_connections = &tvs->connections();
        admin_context.tvs_answers = &tvs->answers();
        admin_context.tvs_view = [this] { return tvs->view_size_and_version(); };
    }
    admin_context.on_trusted_certificates_changed = [this] {
        if (tvs)
            asio::co_spawn(io, tvs->refresh(), asio::detached);
    };
    if (tftp.enabled()) {
        admin_context.deliveries = &tftp.deliveries();
        admin_context.build_itl = [this] { return tftp.build_itl(); };
        admin_context.publish_ctl = [this](bool allow) { return tftp.publish_ctl(allow); };
        admin_context.show_ctl = [this] { return tftp.show_ctl(); };
        admin_context.ctl_signer_refusals = [this] { return tftp.ctl_signer_refusals(); };
        admin_context.apply_itl_rollback = [this] { tftp.apply_stored_itl_rollback(); };
    }
    capf::register_admin_methods(registry, admin_context);
}

std::vector<capf::OwnCertificate> own_certificates(const Service& s) {
    using protocol::ItlRole;
    std::vector<capf::OwnCertificate> own{{s.identity.certificate(), ItlRole::capf}};
    if (const auto tftp = s.tftp.tftp_identity())
        own.push_back({tftp->certificate(), ItlRole::tftp});
    if (s.tvs)
        own.push_back({s.tvs->identity().certificate(), ItlRole::tvs});
    if (const auto* ctl = capf::ctl_encryptor(s.config)) {
        for (const auto* sast : {&ctl->sast1, &ctl->sast2}) {
            // A SAST missing here is refused by the ctl encryptor at start.
            if (std::filesystem::exists(sast->certificate))
                own.push_back({Botan::X509_Certificate(sast->certificate.string()), ItlRole::sast});
        }
    }
    return own;
}

void register_own_certificates(Service& s) {
    if (capf::register_own_certificates(s.trusted, s.config.node.name, own_certificates(s),
                                        tvs_default_ttl(s.config)))
        log::info("own_certificates_registered", {{"node", s.config.node.name}});
}

bool follow_trusted_store(Service& s) {
    const std::int64_t version = s.trusted.version();
    if (version == s.trusted_version_seen)
        return false;
    std::vector<Botan::X509_Certificate> tvs_certificates;
    for (const auto& row : s.trusted.list(static_cast<std::uint16_t>(protocol::ItlRole::tvs))) {
        if (row.automatic)  // a node's own: another cluster's TVS is not ours to list
            tvs_certificates.emplace_back(row.der);
    }
    s.trusted_version_seen = version;
    return s.tftp.set_tvs_certificates(std::move(tvs_certificates));
}

/// Every tvs.refresh_interval (2 s without a TVS): a change of the store
/// that adds or removes a node's TVS certificate rebuilds the ITL.
asio::awaitable<void> keep_itl_tvs_records(Service& s) {
    const auto interval =
        s.config.tvs ? s.config.tvs->refresh_interval : Config::Tvs{}.refresh_interval;
    asio::steady_timer timer(s.io);
    for (;;) {
        timer.expires_after(interval);
        co_await timer.async_wait(asio::use_awaitable);
        try {
            if (co_await s.pool.run([&s] { return follow_trusted_store(s); })) {
                log::info("itl_tvs_records_changed");
                co_await s.tftp.identities_changed();
            }
        } catch (const std::exception& e) {
            log::warn("itl_tvs_records_failed", {{"error", e.what()}});
        }
    }
}

/// Rebuilds the trust store from its sources (files and the database, read
/// on the blocking pool); the old set stays when that fails.
asio::awaitable<void> refresh_trust(Service& s, bool log_success) {
    auto reload = [&s, log_success] {
        capf::reload_trust(s.trust, s.config, s.issuer_identity, s.anchors);
        if (log_success) {
            log::info(
                "trust_reloaded",
                {{"lsc_issuers",
                  static_cast<unsigned long long>(s.trust.list(ca::TrustRole::lsc_issuer).size())},
                 {"mic_roots",
                  static_cast<unsigned long long>(s.trust.list(ca::TrustRole::mic_root).size())}});
        }
    };
    try {
        co_await s.pool.run(reload);
    } catch (const std::exception& e) {
        log::warn("trust_refresh_failed", {{"error", e.what()}});
    }
}

/// Once a minute: operations past their deadline are marked expired, trust
/// anchors other nodes added or removed are picked up, and so is the ITL
/// rollback setting another node changed. A failure is logged and tried
/// again the next minute.
asio::awaitable<void> maintenance(Service& s) {
    asio::steady_timer timer(s.io, std::chrono::seconds(5));
    for (;;) {
        co_await timer.async_wait(asio::use_awaitable);
        auto expire = [&s] { return s.schedule.expire_overdue_operations(); };
        try {
            if (const auto n = co_await s.pool.run(expire); n > 0) {
                log::info("operations_expired", {{"count", static_cast<unsigned long long>(n)}});
            }
        } catch (const std::exception& e) {
            log::warn("expire_failed", {{"error", e.what()}});
        }
        co_await refresh_trust(s, false);
        co_await s.tftp.poll_itl_rollback();
        timer.expires_after(std::chrono::minutes(1));
    }
}

/// Every audit.purge_interval: the audit log and the delivered outbox rows
/// past their retention are deleted (capf/service/retention.hpp). A failure
/// is logged and tried again at the next interval.
asio::awaitable<void> retention(Service& s) {
    using std::chrono::duration_cast;
    using std::chrono::seconds;
    const capf::RetentionSettings settings{
        s.config.node.name, duration_cast<seconds>(s.config.audit.retention),
        duration_cast<seconds>(s.config.audit.outbox_retention), s.config.audit.purge_batch};
    asio::steady_timer timer(s.io);
    for (;;) {
        timer.expires_after(s.config.audit.purge_interval);
        co_await timer.async_wait(asio::use_awaitable);
        try {
            co_await capf::purge_past_retention(settings, s.db, s.pool);
        } catch (const std::exception& e) {
            log::warn("retention_purge_failed", {{"error", e.what()}});
        }
    }
}

/// What `systemctl status capfd` shows.
std::string serving_status(Service& s) {
    const std::string tvs =
        s.tvs ? ", TVS on port " + std::to_string(s.tvs->port()) : std::string();
    return "serving phones on port " + std::to_string(s.listener.port()) + tvs +
           ", administrators on " + s.config.admin.socket_path.string();
}

/// Under WatchdogSec=, pings systemd from the I/O threads: if they stop
/// running handlers, the pings stop and systemd restarts capfd.
asio::awaitable<void> watchdog(Service& s, std::chrono::microseconds period) {
    asio::steady_timer timer(s.io);
    for (;;) {
        capf::service_manager::watchdog_ping();
        timer.expires_after(period);
        co_await timer.async_wait(asio::use_awaitable);
    }
}

/// SIGHUP: trust anchors are read again from files and the database, the
/// TFTP identity from its files (the ITL is rebuilt).
asio::awaitable<void> reload_on_signal(Service& s, asio::signal_set& hangup) {
    for (;;) {
        co_await hangup.async_wait(asio::use_awaitable);
        capf::service_manager::reloading();
        co_await refresh_trust(s, true);
        co_await s.tftp.reload();
        try {
            co_await s.pool.run([&s] { register_own_certificates(s); });
        } catch (const std::exception& e) {
            log::warn("own_certificates_failed", {{"error", e.what()}});
        }
        capf::service_manager::ready(serving_status(s));
    }
}

/// SIGTERM or SIGINT: stop taking phones and administrators, give running
/// sessions the configured grace to finish, then stop the process.
asio::awaitable<void> drain_on_signal(Service& s, asio::signal_set& stop) {
    const int signal = co_await stop.async_wait(asio::use_awaitable);
    log::info("shutdown",
              {{"signal", signal == SIGTERM ? "SIGTERM" : "SIGINT"},
               {"active_sessions", static_cast<unsigned long long>(s.listener.stats().active)}});
    capf::service_manager::stopping("draining " + std::to_string(s.listener.stats().active.load()) +
                                    " phone sessions");
    s.listener.stop();
    if (s.tvs)
        s.tvs->stop();
    s.admin.stop();
    const auto deadline = capf::deadline_after(s.config.limits.shutdown_grace);
    asio::steady_timer poll(s.io);
    while (s.listener.stats().active > 0 && std::chrono::steady_clock::now() < deadline) {
        poll.expires_after(std::chrono::milliseconds(100));
        co_await poll.async_wait(asio::use_awaitable);
    }
    if (const std::size_t cut_off = s.listener.stats().active; cut_off > 0) {
        log::warn("sessions_cut_off", {{"count", static_cast<unsigned long long>(cut_off)}});
    }
    s.io.stop();
}

int run_service(const Config& config) {
    // A log line written after the reader of stderr has gone (a `| logger`
    // pipeline restarted, a closed terminal) must not end the service:
    // ignored, the write fails with EPIPE and capfd goes on serving. Programs
    // capfd starts get the default disposition back (exec_runner.cpp).
    std::signal(SIGPIPE, SIG_IGN);
    capf::raise_open_file_limit(config);
    Service s(config);
    // The signal sets exist before the phone port or the admin socket can be
    // seen: a supervisor that sends SIGTERM the moment the socket appears
    // gets a drain and exit 0, not death by the default disposition (143).
    asio::signal_set hangup(s.io, SIGHUP);
    asio::signal_set stop(s.io, SIGTERM, SIGINT);
    s.listener.start();
    if (s.tvs) {
        s.tvs->start();
        asio::co_spawn(s.io, s.tvs->run(), asio::detached);
    }
    s.admin.start();
    asio::co_spawn(s.io, maintenance(s), asio::detached);
    asio::co_spawn(s.io, retention(s), asio::detached);
    asio::co_spawn(s.io, s.tftp.run(), asio::detached);
    if (s.tftp.enabled())
        asio::co_spawn(s.io, keep_itl_tvs_records(s), asio::detached);
    asio::co_spawn(s.io, reload_on_signal(s, hangup), asio::detached);
    asio::co_spawn(s.io, drain_on_signal(s, stop), asio::detached);
    if (const auto period = capf::service_manager::watchdog_period())
        asio::co_spawn(s.io, watchdog(s, *period), asio::detached);
    const auto tls = capf::describe_tls_policy(config.tls.policy);
    log::info("tls_policy", {{"policy", tls.name},
                             {"versions", tls.versions},
                             {"key_exchanges", tls.key_exchanges},
                             {"ciphers", tls.ciphers},
                             {"macs", tls.macs},
                             {"minimum_rsa_bits", tls.minimum_rsa_bits}});
    const auto rules = [](const capf::ChainRules& r) {
        return "min_rsa_bits " + std::to_string(r.min_rsa_bits) +
               (r.accept_sha1 ? ", SHA-1 accepted" : ", no SHA-1");
    };
    log::info("trust_policy", {{"policy", config.trust.policy},
                               {"lsc", rules(config.trust.lsc)},
                               {"mic", rules(config.trust.mic)},
                               {"sudi", rules(config.trust.sudi)},
                               {"require_sudi", config.auth.require_sudi}});
    log::info("started",
              {{"version", std::string(capf::version())},
               {"node", config.node.name},
               {"port", s.listener.port()},
               {"tls_policy", config.tls.policy == capf::TlsPolicy::strict ? "strict" : "legacy"},
               {"admin_socket", config.admin.socket_path.string()}});
    // Ready only now: the listener and the admin socket accept, and every
    // check that could stop capfd at start has passed.
    capf::service_manager::ready(serving_status(s));
    std::vector<std::thread> workers;
    for (unsigned i = 1; i < s.threads; ++i)
        workers.emplace_back([&s] { s.io.run(); });
    s.io.run();
    for (auto& t : workers)
        t.join();
    log::info("stopped");
    return 0;
}

/// `capfd init --sast 1|2 [--sast-key K] [--sast-cn NAME]` (issue 34).
void add_sast_options(CLI::App& init_cmd, InitOptions& init) {
    init_cmd
        .add_option("--sast", init.sast,
                    "Also the SAST identity 1 or 2 of the ctl encryptor's sast1/sast2 (unless it "
                    "exists); may be given twice")
        ->check(CLI::IsMember({1u, 2u}));
    init_cmd
        .add_option("--sast-key", init.sast_key,
                    "Key of a new SAST identity (RSA only: " +
                        ca::key_spec_list(ca::tftp_key_specs()) + ")")
        ->capture_default_str();
    init_cmd.add_option("--sast-cn", init.sast_common_name,
                        "Subject CN of a new SAST certificate (default SAST<n>-<node>)");
}

}  // namespace

int main(int argc, char** argv) {
    // Before anything opens a file: see standard_descriptors.hpp.
    try {
        capf::open_closed_standard_descriptors();
    } catch (const std::system_error& e) {
        std::cerr << "capfd: " << e.what() << "\n";
        return 1;
    }
    CLI::App app{"capfd: Certificate Authority Proxy Function service for Cisco IP phones"};
    app.set_version_flag("--version", std::string(capf::version()));
    std::string config_path;
    app.add_option("--config", config_path,
                   "JSON configuration file (keys: capfd.json(5), deploy/CONFIG.md)");
    bool check_config = false;
    app.add_flag("--check-config", check_config,
                 "Validate the configuration and exit: 0 when valid");
    InitOptions init;
    auto* init_cmd = app.add_subcommand(
        "init", "Create the CAPF identity (unless one exists) and the database schema");
    init_cmd->fallthrough();  // --config may follow "init"
    init_cmd->add_option("--cn", init.common_name,
                         "Subject CN of a new CAPF certificate (default CAPF-<node>)");
    init_cmd->add_option("--organization", init.organization, "Subject O");
    init_cmd->add_option("--unit", init.organizational_unit, "Subject OU");
    init_cmd->add_option("--country", init.country, "Subject C (two letters)");
    init_cmd->add_option("--key", init.key, ca::key_spec_list(ca::identity_key_specs()))
        ->capture_default_str();
    init_cmd->add_flag("--tftp", init.tftp,
                       "Also the TFTP signing identity of tftp.identity (unless it exists)");
    init_cmd
        ->add_option("--tftp-key", init.tftp_key,
                     "Key of a new TFTP identity (RSA only: " +
                         ca::key_spec_list(ca::tftp_key_specs()) + ")")
        ->capture_default_str();
    init_cmd->add_option("--tftp-cn", init.tftp_common_name,
                         "Subject CN of a new TFTP certificate (default TFTP-<node>)");
    init_cmd->add_flag("--tvs", init.tvs,
                       "Also the TVS identity of tvs.identity (unless it exists)");
    init_cmd
        ->add_option("--tvs-key", init.tvs_key,
                     "Key of a new TVS identity: " + ca::key_spec_list(ca::identity_key_specs()))
        ->capture_default_str();
    init_cmd->add_option("--tvs-cn", init.tvs_common_name,
                         "Subject CN of a new TVS certificate (default TVS-<node>)");
    add_sast_options(*init_cmd, init);
    init_cmd->add_option("--days", init.days, "Validity of a new CAPF (or TFTP) certificate")
        ->check(CLI::Range(1, 7300))
        ->capture_default_str();
    CLI11_PARSE(app, argc, argv);

    capf::Config config;
    try {
        if (!config_path.empty()) {
            config = capf::load_config(config_path);
        }
    } catch (const capf::ConfigError& e) {
        std::cerr << "capfd: invalid configuration:\n" << e.what() << "\n";
        return 1;
    }
    if (check_config) {
        std::cout << "capfd: configuration "
                  << (config_path.empty() ? std::string("(built-in defaults)") : config_path)
                  << " is valid\n";
        return 0;
    }
    capf::log::set_level(config.log.level);
    try {
        return init_cmd->parsed() ? run_init(config, init) : run_service(config);
    } catch (const capf::ca::CaError& e) {
        capf::log::error(
            "identity_unusable",
            {{"error", e.what()}, {"hint", "run 'capfd init' to create a CAPF identity"}});
    } catch (const capf::storage::StorageError& e) {
        capf::log::error("database_unusable", {{"error", e.what()}});
    } catch (const std::exception& e) {
        capf::log::error("start_failed", {{"error", e.what()}});
    }
    return 1;
}
