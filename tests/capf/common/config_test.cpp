#include "capf/common/config.hpp"

#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <variant>

// The file's own namespace: the suite is compiled in unity batches, and its
// file-local names must not meet another file's.
namespace config_test_cases {

using namespace capf;
using namespace std::chrono_literals;

namespace {

std::string problems_of(std::string_view text) {
    try {
        (void)parse_config(text, "test.json");
    } catch (const ConfigError& e) {
        return e.what();
    }
    FAIL("configuration was accepted: " << text);
    return {};
}

}  // namespace

TEST_CASE("an empty configuration gives the documented defaults") {
    const Config c = parse_config("{}");
    CHECK(c.listen.port == 3804);
    CHECK(c.tls.policy == TlsPolicy::legacy);
    CHECK(c.lsc.validity_days == 365);
    CHECK(c.lsc.default_key_spec.text() == "rsa-2048");
    CHECK(c.keygen.timeout == 30min);
    CHECK(c.keygen.retries == 3);
    CHECK(c.auth.default_mode == "auth-string");
    CHECK(c.auth.lockout_failures == 5);
    CHECK(c.admin.socket_mode == 0660);
    CHECK_FALSE(c.issuer.has_value());
    CHECK_FALSE(c.node.name.empty());
}

TEST_CASE("the sample configuration in deploy/ is valid and read as written") {
    const Config c = load_config(CAPF_SOURCE_DIR "/deploy/capfd.sample.json");
    CHECK(c.listen.address == "0.0.0.0");
    // The package's /etc/capfd/capfd.json: the identity in the state
    // directory the capf user owns, no passphrase, the local database.
    CHECK(c.identity.certificate == std::filesystem::path("/var/lib/capfd/capf.crt"));
    CHECK(c.identity.private_key == std::filesystem::path("/var/lib/capfd/capf.key"));
    CHECK_FALSE(c.identity.passphrase_file);
    CHECK(c.database.connection == "dbname=capfd user=capf");
    CHECK(c.admin.socket_path == std::filesystem::path("/run/capfd/admin.sock"));
    CHECK(c.limits.max_sessions == 10000);
    CHECK(c.limits.read_timeout == 60s);
    CHECK(c.node.name == "capf-node-1");
    CHECK(c.admin.allowed_group == std::optional<std::string>("capfadmin"));
    CHECK(c.admin.allowed_users == std::vector<std::string>{"root", "capf"});
    // The package's read-only group: capfd-metrics.service runs as its
    // capfmetrics user.
    CHECK(c.admin.readonly_groups == std::vector<std::string>{"capfread"});
    CHECK(c.admin.readonly_users.empty());
    CHECK(c.log.level == LogLevel::info);
    CHECK(c.trust.policy == "legacy");
    CHECK(c.limits.max_sessions_per_source == 32);
    CHECK(c.limits.auth_timeout == 10s);
    CHECK(c.limits.blocking_queue == 1024);
    CHECK(c.database.statement_timeout == 30s);
    CHECK(c.database.lock_timeout == 10s);
    CHECK_FALSE(c.auth.require_sudi);
}

TEST_CASE("admin.readonly_users and admin.readonly_groups: empty by default, read as written") {
    const Config none = parse_config("{}");
    CHECK(none.admin.readonly_users.empty());
    CHECK(none.admin.readonly_groups.empty());
    const Config c = parse_config(
        R"({"admin": {"readonly_users": ["alice", "bob"], "readonly_groups": ["capfread"]}})");
    CHECK(c.admin.readonly_users == std::vector<std::string>{"alice", "bob"});
    CHECK(c.admin.readonly_groups == std::vector<std::string>{"capfread"});
}

TEST_CASE("admin read-only keys refuse what is not a list of names, naming the key") {
    CHECK(problems_of(R"({"admin": {"readonly_users": "alice"}})") ==
          "test.json: key 'admin.readonly_users': value \"alice\": must be a list of user names");
    CHECK(problems_of(R"({"admin": {"readonly_groups": ["capfread", ""]}})") ==
          "test.json: key 'admin.readonly_groups': value [\"capfread\",\"\"]: must be a list of "
          "group names");
}

TEST_CASE("a user or group given both the admin and the read-only role is refused") {
    CHECK(problems_of(
              R"({"admin": {"allowed_users": ["alice"], "readonly_users": ["bob", "alice"]}})") ==
          "test.json: key 'admin.readonly_users': value [\"bob\",\"alice\"]: 'alice' is also in "
          "admin.allowed_users; keep each user in one of the two");
    CHECK(problems_of(
              R"({"admin": {"allowed_group": "capfadmin", "readonly_groups": ["capfadmin"]}})") ==
          "test.json: key 'admin.readonly_groups': value [\"capfadmin\"]: 'capfadmin' is also "
          "admin.allowed_group, whose members are full administrators");
}

TEST_CASE("values at the edges of their ranges are accepted") {
    const Config c = parse_config(R"({"listen": {"port": 65535, "address": "::1"},
        "lsc": {"validity_days": 1825, "default_key_spec": "ec-p521"},
        "keygen": {"timeout": "5s", "retries": 0}, "tls": {"policy": "strict"},
        "admin": {"socket_mode": "0600"}})");
    CHECK(c.listen.port == 65535);
    CHECK(c.lsc.validity_days == 1825);
    CHECK(c.lsc.default_key_spec == ca::KeySpec{ca::KeySpec::Algorithm::ec, 521});
    CHECK(c.keygen.timeout == 5s);
    CHECK(c.keygen.retries == 0);
    CHECK(c.tls.policy == TlsPolicy::strict);
    CHECK(c.admin.socket_mode == 0600);
}

TEST_CASE("a bad value names the file, the key, the value and what is allowed") {
    const std::string msg = problems_of(R"({"lsc": {"validity_days": 2000}})");
    CHECK_THAT(msg, Catch::Contains("test.json") && Catch::Contains("lsc.validity_days") &&
                        Catch::Contains("2000") && Catch::Contains("1 to 1825"));
    CHECK_THAT(problems_of(R"({"tls": {"policy": "modern"}})"),
               Catch::Contains("tls.policy") && Catch::Contains("legacy, strict"));
    CHECK_THAT(problems_of(R"({"keygen": {"timeout": "3h"}})"),
               Catch::Contains("keygen.timeout") && Catch::Contains("1s to 2h"));
}

TEST_CASE("every problem is reported at once") {
    const std::string msg = problems_of(R"({"listen": {"port": 0}, "keygen": {"retries": 500},
                                            "log": {"level": "loud"}})");
    CHECK_THAT(msg, Catch::Contains("listen.port") && Catch::Contains("keygen.retries") &&
                        Catch::Contains("log.level"));
}

TEST_CASE("unknown keys are refused so that typos do not fall back to defaults") {
    CHECK_THAT(problems_of(R"({"lsc": {"validty_days": 30}})"),
               Catch::Contains("lsc.validty_days") && Catch::Contains("validity_days"));
    CHECK_THAT(problems_of(R"({"lisen": {}})"), Catch::Contains("'lisen'"));
}

TEST_CASE("malformed documents are refused with the file name") {
    CHECK_THAT(problems_of("{"), Catch::Contains("test.json") && Catch::Contains("not valid JSON"));
    CHECK_THAT(problems_of("[]"), Catch::Contains("must be a JSON object"));
    CHECK_THROWS_AS(load_config("/nonexistent/capfd.json"), ConfigError);
}

TEST_CASE("durations and key specs parse only their documented forms") {
    CHECK(parse_duration("250ms") == 250ms);
    CHECK(parse_duration("90s") == 90s);
    CHECK(parse_duration("30m") == 30min);
    CHECK(parse_duration("2h") == 2h);
    CHECK(parse_duration("400d") == 400 * 24h);
    for (const char* bad : {"", "s", "10", "10 s", "-1s", "1.5s", "10w", "1d2h"}) {
        INFO(bad);
        CHECK_FALSE(parse_duration(bad).has_value());
    }
    for (const char* good : {"rsa-512", "rsa-1024", "rsa-2048", "rsa-3072", "rsa-4096", "ec-p256",
                             "ec-p384", "ec-p521"}) {
        INFO(good);
        REQUIRE(ca::parse_key_spec(good).has_value());
        CHECK(ca::parse_key_spec(good)->text() == good);
    }
    for (const char* bad : {"rsa-8192", "rsa-1000", "ec-p224", "RSA-2048", "ecdsa"}) {
        INFO(bad);
        CHECK_FALSE(ca::parse_key_spec(bad).has_value());
    }
}

TEST_CASE("the issue-11 keys default to the legacy chain profile and the documented limits") {
    const Config c = parse_config("{}");
    CHECK(c.trust.policy == "legacy");
    CHECK(c.trust.intermediates.empty());
    CHECK(c.trust.sudi_roots.empty());
    for (const ChainRules* rules : {&c.trust.lsc, &c.trust.mic, &c.trust.sudi}) {
        CHECK(rules->min_rsa_bits == 1024);
        CHECK(rules->accept_sha1);
    }
    CHECK_FALSE(c.auth.require_sudi);
    CHECK(c.limits.max_sessions_per_source == 32);
    CHECK(c.limits.auth_timeout == 10s);
    CHECK(c.limits.blocking_queue == 1024);
    CHECK(c.database.statement_timeout == 30s);
    CHECK(c.database.lock_timeout == 10s);
}

TEST_CASE("trust.policy strict raises every role's rules, and per-role keys override them") {
    const Config c = parse_config(R"({"trust": {"policy": "strict",
        "intermediates": ["/etc/capfd/mfg-ca.pem"], "sudi_roots": ["/etc/capfd/sudi.pem"],
        "mic": {"min_rsa_bits": 1024, "accept_sha1": true}, "sudi": {"min_rsa_bits": 4096}}})");
    CHECK(c.trust.policy == "strict");
    CHECK(c.trust.intermediates == std::vector<std::filesystem::path>{"/etc/capfd/mfg-ca.pem"});
    CHECK(c.trust.sudi_roots == std::vector<std::filesystem::path>{"/etc/capfd/sudi.pem"});
    CHECK(c.trust.lsc == ChainRules{2048, false});
    CHECK(c.trust.mic == ChainRules{1024, true});
    CHECK(c.trust.sudi == ChainRules{4096, false});

    const Config legacy = parse_config(R"({"trust": {"lsc": {"accept_sha1": false}}})");
    CHECK(legacy.trust.lsc == ChainRules{1024, false});
    CHECK(legacy.trust.mic == ChainRules{1024, true});
}

TEST_CASE("the issue-11 keys read as written") {
    const Config c = parse_config(R"({"auth": {"require_sudi": true},
        "limits": {"max_sessions": 100, "max_sessions_per_source": 100, "read_timeout": "20s",
                   "auth_timeout": "20s", "blocking_queue": 1},
        "database": {"statement_timeout": "0s", "lock_timeout": "500ms"}})");
    CHECK(c.auth.require_sudi);
    CHECK(c.limits.max_sessions_per_source == 100);
    CHECK(c.limits.auth_timeout == 20s);
    CHECK(c.limits.blocking_queue == 1);
    CHECK(c.database.statement_timeout == 0ms);
    CHECK(c.database.lock_timeout == 500ms);
}

TEST_CASE("defaults of the per-source cap and auth timeout shrink to smaller limits") {
    const Config c = parse_config(R"({"limits": {"max_sessions": 4, "read_timeout": "5s"}})");
    CHECK(c.limits.max_sessions_per_source == 4);
    CHECK(c.limits.auth_timeout == 5s);
}

TEST_CASE("bad issue-11 values name the key and what is allowed") {
    CHECK_THAT(problems_of(R"({"trust": {"policy": "paranoid"}})"),
               Catch::Contains("trust.policy") && Catch::Contains("legacy, strict"));
    CHECK_THAT(problems_of(R"({"trust": {"mic": {"min_rsa_bits": 256}}})"),
               Catch::Contains("trust.mic.min_rsa_bits") && Catch::Contains("512 to 16384"));
    CHECK_THAT(problems_of(R"({"trust": {"lsc": {"accept_sha1": "yes"}}})"),
               Catch::Contains("trust.lsc.accept_sha1") && Catch::Contains("true or false"));
    CHECK_THAT(problems_of(R"({"trust": {"sudi": {"min_bits": 2048}}})"),
               Catch::Contains("trust.sudi.min_bits") && Catch::Contains("min_rsa_bits"));
    CHECK_THAT(problems_of(R"({"trust": {"intermediates": "ca.pem"}})"),
               Catch::Contains("trust.intermediates") && Catch::Contains("list"));
    CHECK_THAT(problems_of(R"({"auth": {"require_sudi": 1}})"),
               Catch::Contains("auth.require_sudi"));
    CHECK_THAT(problems_of(R"({"limits": {"max_sessions": 10, "max_sessions_per_source": 11}})"),
               Catch::Contains("limits.max_sessions_per_source") && Catch::Contains("1 to 10"));
    CHECK_THAT(problems_of(R"({"limits": {"max_sessions_per_source": 0}})"),
               Catch::Contains("limits.max_sessions_per_source"));
    CHECK_THAT(problems_of(R"({"limits": {"read_timeout": "30s", "auth_timeout": "31s"}})"),
               Catch::Contains("limits.auth_timeout") && Catch::Contains("1s to 30s"));
    CHECK_THAT(problems_of(R"({"limits": {"blocking_queue": 0}})"),
               Catch::Contains("limits.blocking_queue") && Catch::Contains("1 to"));
    CHECK_THAT(problems_of(R"({"database": {"statement_timeout": "forever"}})"),
               Catch::Contains("database.statement_timeout") && Catch::Contains("duration"));
    CHECK_THAT(problems_of(R"({"database": {"lock_timeout": "25h"}})"),
               Catch::Contains("database.lock_timeout") && Catch::Contains("0s to 24h"));
}

// ---- issue 12: the TFTP side ----

namespace {

/// A configuration whose tftp section holds `encryptors` (JSON list text)
/// and a TFTP directory of /srv/tftp.
std::string with_encryptors(const std::string& encryptors) {
    return R"({"tftp": {"directory": "/srv/tftp", "encryptors": )" + encryptors + "}}";
}

}  // namespace

TEST_CASE("without a tftp section the TFTP side is off") {
    CHECK_FALSE(parse_config("{}").tftp.has_value());
}

TEST_CASE("an empty tftp section gives the documented TFTP defaults") {
    const Config c = parse_config(R"({"tftp": {}})");
    REQUIRE(c.tftp.has_value());
    CHECK(c.tftp->identity.certificate == "/etc/capfd/tftp.crt");
    CHECK(c.tftp->identity.private_key == "/etc/capfd/tftp.key");
    CHECK(c.tftp->directory.empty());
    CHECK(c.tftp->delivery.retry_first == 10s);
    CHECK(c.tftp->delivery.retry_max == 10min);
    CHECK(c.tftp->delivery.lease == 5min);
    CHECK(c.tftp->delivery.batch == 32);
    CHECK(c.tftp->encryptors.empty());
}

TEST_CASE("the TFTP sample configuration in deploy/ is valid and read as written") {
    const Config c = load_config(CAPF_SOURCE_DIR "/deploy/capfd-tftp.sample.json");
    REQUIRE(c.tftp.has_value());
    const Config::Tftp& t = *c.tftp;
    CHECK(t.identity.passphrase_file == std::filesystem::path("/etc/capfd/tftp.key.pass"));
    CHECK(t.directory == "/srv/tftp");
    REQUIRE(t.encryptors.size() == 4);
    const auto& enc = std::get<EncSgnEncryptorConfig>(t.encryptors[0]);
    CHECK(enc.source_directory == "/var/lib/provisioning/cnf");
    CHECK(enc.hash == TftpFileHash::sha512);
    CHECK_FALSE(enc.remove_plaintext);
    const auto& itl = std::get<ItlEncryptorConfig>(t.encryptors[1]);
    REQUIRE(itl.extra.size() == 1);
    CHECK(itl.extra[0].certificate == "/etc/capfd/tvs.pem");
    CHECK(itl.extra[0].role == "tvs");
    const auto& exec = std::get<ExecEncryptorConfig>(t.encryptors[2]);
    CHECK(exec.argv == std::vector<std::string>{"/usr/local/bin/push-config", "--quiet"});
    CHECK(exec.timeout == 30s);
    const auto& hashes = std::get<HashesFileEncryptorConfig>(t.encryptors[3]);
    CHECK(hashes.path == "/srv/export/hashes.csv");
    CHECK(hashes.format == HashesFileEncryptorConfig::Format::csv);
    CHECK(encryptor_type_name(t.encryptors[0]) == "enc-sgn");
    CHECK(encryptor_type_name(t.encryptors[3]) == "hashes-file");
}

TEST_CASE("tftp keys read as written, at the edges of their ranges") {
    const Config c = parse_config(R"({"tftp": {"directory": "/srv/tftp",
        "identity": {"certificate": "/a.crt", "private_key": "/a.key", "passphrase_env": "P"},
        "delivery": {"retry_first": "1s", "retry_max": "24h", "lease": "2h", "batch": 1000},
        "encryptors": [
          {"type": "enc-sgn", "source_directory": "/srv/cnf", "hash": "sha1",
           "remove_plaintext": true},
          {"type": "itl", "hash": "sha1"},
          {"type": "exec", "argv": ["/bin/a"], "timeout": "1s"},
          {"type": "exec", "argv": ["/bin/b", "x"], "timeout": "1h"},
          {"type": "hashes-file", "path": "/srv/h.json", "format": "json"},
          {"type": "hashes-file", "path": "/srv/h.csv"}]}})");
    const Config::Tftp& t = *c.tftp;
    CHECK(t.identity.certificate == "/a.crt");
    CHECK(t.identity.passphrase_env == std::optional<std::string>("P"));
    CHECK(t.delivery.retry_first == 1s);
    CHECK(t.delivery.retry_max == 24h);
    CHECK(t.delivery.lease == 2h);
    CHECK(t.delivery.batch == 1000);
    REQUIRE(t.encryptors.size() == 6);
    CHECK(std::get<EncSgnEncryptorConfig>(t.encryptors[0]).hash == TftpFileHash::sha1);
    CHECK(std::get<EncSgnEncryptorConfig>(t.encryptors[0]).remove_plaintext);
    CHECK(std::get<ItlEncryptorConfig>(t.encryptors[1]).hash == TftpFileHash::sha1);
    CHECK(std::get<ExecEncryptorConfig>(t.encryptors[2]).timeout == 1s);
    CHECK(std::get<ExecEncryptorConfig>(t.encryptors[3]).timeout == 1h);
    CHECK(std::get<HashesFileEncryptorConfig>(t.encryptors[4]).format ==
          HashesFileEncryptorConfig::Format::json);
    CHECK(std::get<HashesFileEncryptorConfig>(t.encryptors[5]).format ==
          HashesFileEncryptorConfig::Format::csv);
}

TEST_CASE("unknown tftp keys are refused, at every level") {
    CHECK_THAT(problems_of(R"({"tftp": {"dir": "/srv/tftp"}})"),
               Catch::Contains("tftp.dir") && Catch::Contains("directory"));
    CHECK_THAT(problems_of(R"({"tftp": {"delivery": {"retries": 3}}})"),
               Catch::Contains("tftp.delivery.retries") && Catch::Contains("retry_first"));
    CHECK_THAT(problems_of(R"({"tftp": {"identity": {"cert": "/a"}}})"),
               Catch::Contains("tftp.identity.cert") && Catch::Contains("private_key"));
    CHECK_THAT(problems_of(with_encryptors(R"([{"type": "exec", "argv": ["/bin/x"],
                                                "shell": true}])")),
               Catch::Contains("tftp.encryptors[0].shell") && Catch::Contains("argv"));
    // A key of another type is unknown to this one.
    CHECK_THAT(problems_of(with_encryptors(R"([{"type": "hashes-file", "path": "/srv/h.csv",
                                                "hash": "sha1"}])")),
               Catch::Contains("tftp.encryptors[0].hash") && Catch::Contains("format"));
    CHECK_THAT(problems_of(with_encryptors(R"([{"type": "itl",
                                                "extra": [{"certificate": "/t.pem", "role": "tvs",
                                                           "ip": "10.0.0.1"}]}])")),
               Catch::Contains("tftp.encryptors[0].extra[0].ip"));
}

TEST_CASE("bad tftp values name the key, the value and what is allowed") {
    CHECK_THAT(problems_of(R"({"tftp": {"delivery": {"retry_first": "0s"}}})"),
               Catch::Contains("tftp.delivery.retry_first") && Catch::Contains("1s to 1h"));
    CHECK_THAT(problems_of(R"({"tftp": {"delivery": {"retry_first": "1m", "retry_max": "30s"}}})"),
               Catch::Contains("tftp.delivery.retry_max") && Catch::Contains("1m to 24h"));
    CHECK_THAT(problems_of(R"({"tftp": {"delivery": {"lease": "3h"}}})"),
               Catch::Contains("tftp.delivery.lease") && Catch::Contains("10s to 2h"));
    CHECK_THAT(problems_of(R"({"tftp": {"delivery": {"batch": 0}}})"),
               Catch::Contains("tftp.delivery.batch") && Catch::Contains("1 to 1000"));
    CHECK_THAT(problems_of(R"({"tftp": {"directory": "srv/tftp"}})"),
               Catch::Contains("tftp.directory") && Catch::Contains("\"srv/tftp\"") &&
                   Catch::Contains("absolute"));
    CHECK_THAT(problems_of(R"({"tftp": {"identity": {"passphrase_file": "/p",
                                                      "passphrase_env": "P"}}})"),
               Catch::Contains("tftp.identity") && Catch::Contains("not both"));
    CHECK_THAT(problems_of(R"({"tftp": {"encryptors": {"type": "itl"}}})"),
               Catch::Contains("tftp.encryptors") && Catch::Contains("list"));
}

TEST_CASE("an encryptor's type is required and must be a known one") {
    CHECK_THAT(problems_of(with_encryptors(R"([{"type": "ftp"}])")),
               Catch::Contains("tftp.encryptors[0].type") && Catch::Contains("\"ftp\"") &&
                   Catch::Contains("enc-sgn, itl, ctl, exec, hashes-file"));
    CHECK_THAT(problems_of(with_encryptors(R"([{"path": "/srv/h.csv"}])")),
               Catch::Contains("tftp.encryptors[0].type") && Catch::Contains("required"));
    CHECK_THAT(problems_of(with_encryptors(R"(["itl"])")),
               Catch::Contains("tftp.encryptors[0]") && Catch::Contains("must be an object"));
}

TEST_CASE("hash is sha1 or sha512") {
    CHECK_THAT(problems_of(with_encryptors(R"([{"type": "itl", "hash": "sha256"}])")),
               Catch::Contains("tftp.encryptors[0].hash") && Catch::Contains("\"sha256\"") &&
                   Catch::Contains("sha1, sha512"));
    CHECK_THAT(problems_of(with_encryptors(R"([{"type": "enc-sgn", "source_directory": "/srv/cnf",
                                                "hash": "md5"}])")),
               Catch::Contains("tftp.encryptors[0].hash") && Catch::Contains("sha1, sha512"));
}

TEST_CASE("itl extra certificates need a path and one of the ITL roles") {
    CHECK_THAT(problems_of(with_encryptors(R"([{"type": "itl",
                                                "extra": [{"certificate": "/t.pem",
                                                           "role": "sast"}]}])")),
               Catch::Contains("tftp.encryptors[0].extra[0].role") && Catch::Contains("\"sast\"") &&
                   Catch::Contains("ccm, ccm-tftp, tftp, capf, app-server, tvs"));
    CHECK_THAT(problems_of(with_encryptors(R"([{"type": "itl", "extra": [{"role": "tvs"}]}])")),
               Catch::Contains("tftp.encryptors[0].extra[0]") && Catch::Contains("certificate"));
    CHECK_THAT(problems_of(with_encryptors(R"([{"type": "itl", "extra": "/t.pem"}])")),
               Catch::Contains("tftp.encryptors[0].extra") && Catch::Contains("list"));
    for (const char* role : {"ccm", "ccm-tftp", "tftp", "capf", "app-server", "tvs"}) {
        INFO(role);
        const Config c = parse_config(with_encryptors(
            std::string(R"([{"type": "itl", "extra": [{"certificate": "/t.pem", "role": ")") +
            role + R"("}]}])"));
        CHECK(std::get<ItlEncryptorConfig>(c.tftp->encryptors[0]).extra[0].role == role);
    }
}

TEST_CASE(
    "exec needs a non-empty argv whose program is an absolute path, and a timeout of 1s to 1h") {
    CHECK_THAT(problems_of(with_encryptors(R"([{"type": "exec", "argv": []}])")),
               Catch::Contains("tftp.encryptors[0].argv") && Catch::Contains("non-empty list"));
    CHECK_THAT(problems_of(with_encryptors(R"([{"type": "exec"}])")),
               Catch::Contains("tftp.encryptors[0].argv"));
    CHECK_THAT(problems_of(with_encryptors(R"([{"type": "exec", "argv": "/bin/push"}])")),
               Catch::Contains("tftp.encryptors[0].argv") && Catch::Contains("list"));
    CHECK_THAT(problems_of(with_encryptors(R"([{"type": "exec", "argv": ["push-config"]}])")),
               Catch::Contains("tftp.encryptors[0].argv") && Catch::Contains("\"push-config\"") &&
                   Catch::Contains("absolute path"));
    CHECK_THAT(problems_of(with_encryptors(R"([{"type": "exec", "argv": ["/bin/x"],
                                                "timeout": "500ms"}])")),
               Catch::Contains("tftp.encryptors[0].timeout") && Catch::Contains("1s to 1h"));
    CHECK_THAT(problems_of(with_encryptors(R"([{"type": "exec", "argv": ["/bin/x"],
                                                "timeout": "2h"}])")),
               Catch::Contains("tftp.encryptors[0].timeout") && Catch::Contains("1s to 1h"));
    const Config c = parse_config(with_encryptors(R"([{"type": "exec", "argv": ["/bin/x"]}])"));
    CHECK(std::get<ExecEncryptorConfig>(c.tftp->encryptors[0]).timeout == 30s);
}

TEST_CASE("hashes-file needs an absolute path and a format of csv or json") {
    CHECK_THAT(problems_of(with_encryptors(R"([{"type": "hashes-file", "path": "/h.xml",
                                                "format": "xml"}])")),
               Catch::Contains("tftp.encryptors[0].format") && Catch::Contains("\"xml\"") &&
                   Catch::Contains("csv, json"));
    CHECK_THAT(problems_of(with_encryptors(R"([{"type": "hashes-file"}])")),
               Catch::Contains("tftp.encryptors[0].path") && Catch::Contains("required"));
    CHECK_THAT(problems_of(with_encryptors(R"([{"type": "hashes-file", "path": "h.csv"}])")),
               Catch::Contains("tftp.encryptors[0].path") && Catch::Contains("absolute"));
}

TEST_CASE("enc-sgn needs tftp.directory and a source directory outside it") {
    CHECK_THAT(problems_of(R"({"tftp": {"encryptors": [{"type": "enc-sgn",
                                                        "source_directory": "/srv/cnf"}]}})"),
               Catch::Contains("tftp.encryptors[0]") && Catch::Contains("tftp.directory") &&
                   Catch::Contains("not set"));
    CHECK_THAT(
        problems_of(with_encryptors(R"([{"type": "enc-sgn"}])")),
        Catch::Contains("tftp.encryptors[0].source_directory") && Catch::Contains("required"));
    // The same directory, written differently, and a directory below it: the
    // TFTP server would serve the plaintext.
    for (const char* source :
         {"/srv/tftp", "/srv/tftp/", "/srv/./tftp", "/srv/tftp/plain", "/srv/x/../tftp/cnf"}) {
        INFO(source);
        CHECK_THAT(problems_of(with_encryptors(std::string(R"([{"type": "enc-sgn",
                                                    "source_directory": ")") +
                                               source + R"("}])")),
                   Catch::Contains("tftp.encryptors[0].source_directory") &&
                       Catch::Contains("outside tftp.directory"));
    }
    // A sibling whose name starts like the TFTP directory is outside it.
    const Config c = parse_config(
        with_encryptors(R"([{"type": "enc-sgn", "source_directory": "/srv/tftp-plain"}])"));
    CHECK(std::get<EncSgnEncryptorConfig>(c.tftp->encryptors[0]).source_directory ==
          "/srv/tftp-plain");
}

TEST_CASE("enc-sgn refuses a source directory that is a symbolic link into the TFTP directory") {
    const auto base =
        std::filesystem::temp_directory_path() / ("capf-config-test-" + std::to_string(::getpid()));
    std::filesystem::create_directories(base / "tftp" / "cnf");
    std::filesystem::create_directory_symlink(base / "tftp" / "cnf", base / "link");
    const std::string doc = R"({"tftp": {"directory": ")" + (base / "tftp").string() +
                            R"(", "encryptors": [{"type": "enc-sgn", "source_directory": ")" +
                            (base / "link").string() + R"("}]}})";
    const std::string msg = problems_of(doc);
    std::filesystem::remove_all(base);
    CHECK_THAT(msg, Catch::Contains("source_directory") && Catch::Contains("outside"));
}

TEST_CASE("itl needs tftp.directory, and at most one itl and one enc-sgn are allowed") {
    CHECK_THAT(problems_of(R"({"tftp": {"encryptors": [{"type": "itl"}]}})"),
               Catch::Contains("tftp.encryptors[0]") && Catch::Contains("tftp.directory"));
    CHECK_THAT(problems_of(with_encryptors(R"([{"type": "itl"}, {"type": "itl"}])")),
               Catch::Contains("tftp.encryptors") && Catch::Contains("itl appears twice"));
    CHECK_THAT(problems_of(with_encryptors(R"([{"type": "enc-sgn", "source_directory": "/a"},
                                              {"type": "enc-sgn", "source_directory": "/b"}])")),
               Catch::Contains("enc-sgn appears twice"));
    // exec and hashes-file may repeat, but two exports must not share a file.
    CHECK_NOTHROW(parse_config(with_encryptors(
        R"([{"type": "exec", "argv": ["/bin/a"]}, {"type": "exec", "argv": ["/bin/a"]}])")));
    CHECK_THAT(problems_of(with_encryptors(R"([{"type": "hashes-file", "path": "/srv/h.csv"},
                                              {"type": "hashes-file", "path": "/srv/./h.csv",
                                               "format": "json"}])")),
               Catch::Contains("two hashes-file encryptors write"));
}

TEST_CASE("ctl: defaults, keys read as written, and the refusals of section 10") {
    const Config defaults = parse_config(with_encryptors(R"([{"type": "ctl"}])"));
    const auto* ctl = ctl_encryptor(defaults);
    REQUIRE(ctl != nullptr);
    CHECK(ctl->sast1.certificate == "/etc/capfd/sast1.crt");
    CHECK(ctl->sast1.private_key == "/etc/capfd/sast1.key");
    CHECK(ctl->sast2.certificate == "/etc/capfd/sast2.crt");
    CHECK(ctl->signer == CtlEncryptorConfig::Signer::sast1);
    CHECK(ctl->hash == TftpFileHash::sha512);
    CHECK_FALSE(ctl->per_device);
    CHECK(encryptor_type_name(defaults.tftp->encryptors[0]) == "ctl");

    const Config c = parse_config(with_encryptors(R"([{"type": "ctl", "hash": "sha1",
        "sast1": {"certificate": "/k/a.crt", "private_key": "/k/a.key", "passphrase_env": "A"},
        "sast2": {"certificate": "/k/b.crt", "private_key": "/k/b.key"},
        "signer": "sast2", "per_device": true,
        "extra": [{"certificate": "/k/app.pem", "role": "app-server"}]}])"));
    ctl = ctl_encryptor(c);
    REQUIRE(ctl != nullptr);
    CHECK(ctl->sast1.passphrase_env == std::optional<std::string>("A"));
    CHECK(ctl->sast2.private_key == "/k/b.key");
    CHECK(ctl->signer == CtlEncryptorConfig::Signer::sast2);
    CHECK(ctl->per_device);
    CHECK(ctl->hash == TftpFileHash::sha1);
    REQUIRE(ctl->extra.size() == 1);
    CHECK(ctl->extra[0].role == "app-server");

    CHECK_THAT(problems_of(with_encryptors(R"([{"type": "ctl", "signer": "sast3"}])")),
               Catch::Contains("tftp.encryptors[0].signer") && Catch::Contains("sast1, sast2"));
    CHECK_THAT(problems_of(with_encryptors(R"([{"type": "ctl", "sast1": {"certificate":
        "/etc/capfd/sast2.crt"}}])")),
               Catch::Contains("tftp.encryptors[0].sast2") &&
                   Catch::Contains("two different SAST certificates and keys"));
    CHECK_THAT(problems_of(with_encryptors(R"([{"type": "ctl",
        "extra": [{"certificate": "/t.pem", "role": "tvs"}]}])")),
               Catch::Contains("tftp.encryptors[0].extra[0].role") &&
                   Catch::Contains("ccm, ccm-tftp, tftp, capf, app-server"));
    CHECK_THAT(problems_of(with_encryptors(R"([{"type": "ctl", "sast1": {"key": "/x"}}])")),
               Catch::Contains("tftp.encryptors[0].sast1.key") && Catch::Contains("unknown key"));
    CHECK_THAT(problems_of(with_encryptors(R"([{"type": "ctl"}, {"type": "ctl"}])")),
               Catch::Contains("ctl appears twice"));
    CHECK_THAT(problems_of(R"({"tftp": {"encryptors": [{"type": "ctl"}]}})"),
               Catch::Contains("type ctl writes into tftp.directory"));
    CHECK_THAT(
        problems_of(with_encryptors(R"([{"type": "ctl", "per_device": "yes"}])")),
        Catch::Contains("tftp.encryptors[0].per_device") && Catch::Contains("true or false"));
}

TEST_CASE("itl rollback: false by default, read as written, a boolean") {
    CHECK_FALSE(itl_rollback_configured(parse_config(with_encryptors(R"([{"type": "itl"}])"))));
    CHECK_FALSE(itl_rollback_configured(parse_config("{}")));
    CHECK(itl_rollback_configured(
        parse_config(with_encryptors(R"([{"type": "itl", "rollback": true}])"))));
    CHECK_THAT(problems_of(with_encryptors(R"([{"type": "itl", "rollback": 1}])")),
               Catch::Contains("tftp.encryptors[0].rollback") && Catch::Contains("true or false"));
}

TEST_CASE("tvs: off without the section or with enabled false, defaults of section 11") {
    CHECK_FALSE(parse_config("{}").tvs);
    CHECK_FALSE(parse_config(R"({"tvs": {"enabled": false, "listen": {"port": 2446}}})").tvs);
    const Config c = parse_config(R"({"tvs": {}})");
    REQUIRE(c.tvs);
    CHECK(c.tvs->listen.address == "0.0.0.0");
    CHECK(c.tvs->listen.port == 2445);
    CHECK(c.tvs->identity.certificate == "/etc/capfd/tvs.crt");
    CHECK(c.tvs->identity.private_key == "/etc/capfd/tvs.key");
    CHECK(c.tvs->default_ttl == 24h);
    CHECK(c.tvs->read_timeout == 10s);
    CHECK(c.tvs->max_requests_per_connection == 100);
    CHECK(c.tvs->max_request_size == 16 * 1024);
    CHECK(c.tvs->refresh_interval == 2s);
}

TEST_CASE("tvs: keys read as written") {
    const Config c = parse_config(R"({"tvs": {
        "listen": {"address": "127.0.0.1", "port": 12445},
        "identity": {"certificate": "/srv/tvs.pem", "private_key": "/srv/tvs.key"},
        "default_ttl": "12h", "max_sessions": 500, "max_sessions_per_source": 5,
        "read_timeout": "3s", "max_requests_per_connection": 1, "max_request_size": 4096,
        "refresh_interval": "500ms"}})");
    REQUIRE(c.tvs);
    CHECK(c.tvs->listen.address == "127.0.0.1");
    CHECK(c.tvs->listen.port == 12445);
    CHECK(c.tvs->identity.certificate == "/srv/tvs.pem");
    CHECK(c.tvs->default_ttl == 12h);
    CHECK(c.tvs->max_sessions == 500);
    CHECK(c.tvs->max_sessions_per_source == 5);
    CHECK(c.tvs->read_timeout == 3s);
    CHECK(c.tvs->max_requests_per_connection == 1);
    CHECK(c.tvs->max_request_size == 4096);
    CHECK(c.tvs->refresh_interval == 500ms);
}

TEST_CASE("tvs: refusals name the key and what is allowed") {
    CHECK_THAT(problems_of(R"({"tvs": {"listen": {"port": 3804}}})"),
               Catch::Contains("tvs.listen.port") && Catch::Contains("phone port"));
    CHECK_THAT(problems_of(R"({"tvs": {"listen": {"address": "tvs.example"}}})"),
               Catch::Contains("tvs.listen.address"));
    CHECK_THAT(problems_of(R"({"tvs": {"max_sessions": 10, "max_sessions_per_source": 11}})"),
               Catch::Contains("tvs.max_sessions_per_source"));
    CHECK_THAT(problems_of(R"({"tvs": {"refresh_interval": "10ms"}})"),
               Catch::Contains("tvs.refresh_interval"));
    CHECK_THAT(problems_of(R"({"tvs": {"max_request_size": 100}})"),
               Catch::Contains("tvs.max_request_size"));
    CHECK_THAT(problems_of(R"({"tvs": {"port": 2445}})"), Catch::Contains("tvs.port"));
    CHECK_THAT(problems_of(R"({"tvs": {"enabled": "yes"}})"), Catch::Contains("tvs.enabled"));
}

TEST_CASE("limits.accept_backoff: 100 ms by default, read as written, bounded 10ms to 10s") {
    CHECK(parse_config("{}").limits.accept_backoff == 100ms);
    CHECK(parse_config(R"({"limits": {"accept_backoff": "2s"}})").limits.accept_backoff == 2s);
    CHECK_THAT(problems_of(R"({"limits": {"accept_backoff": "1ms"}})"),
               Catch::Contains("limits.accept_backoff") && Catch::Contains("10ms to 10s"));
    CHECK_THAT(problems_of(R"({"limits": {"accept_backoff": "11s"}})"),
               Catch::Contains("limits.accept_backoff"));
}

// Issue 32: a program still running when another node takes the delivery
// over could push a phone's old key after the new one.
TEST_CASE("an exec timeout must fit inside half the delivery lease") {
    const auto config = [](const std::string& lease, const std::string& exec) {
        return R"({"tftp": {"directory": "/srv/tftp", "delivery": {"lease": ")" + lease +
               R"("}, "encryptors": [{"type": "itl"}, )" + exec + "]}}";
    };
    CHECK_THAT(
        problems_of(config("10s", R"({"type": "exec", "argv": ["/bin/x"], "timeout": "6s"})")),
        Catch::Contains("key 'tftp.encryptors[1].timeout': value \"6s\"") &&
            Catch::Contains("half of tftp.delivery.lease (10s): at most 5s"));
    // The default timeout (30s) counts too, against the lease's default (5m) or the one given.
    CHECK_THAT(
        problems_of(config("50s", R"({"type": "exec", "argv": ["/bin/x"]})")),
        Catch::Contains("key 'tftp.encryptors[1].timeout'") && Catch::Contains("at most 25s"));
    CHECK_NOTHROW(
        parse_config(config("10s", R"({"type": "exec", "argv": ["/bin/x"], "timeout": "5s"})")));
    CHECK_NOTHROW(
        parse_config(R"({"tftp": {"encryptors": [{"type": "exec", "argv": ["/bin/x"]}]}})"));
    const Config c =
        parse_config(config("2h", R"({"type": "exec", "argv": ["/bin/x"], "timeout": "1h"})"));
    CHECK(std::get<ExecEncryptorConfig>(c.tftp->encryptors[1]).timeout == 1h);
}

}  // namespace config_test_cases
