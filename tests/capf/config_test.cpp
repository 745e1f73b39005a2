#include "capf/common/config.hpp"

#include <catch2/catch.hpp>
#include <filesystem>

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
    CHECK(c.identity.passphrase_file == std::filesystem::path("/etc/capfd/capf.key.pass"));
    CHECK(c.limits.max_sessions == 10000);
    CHECK(c.limits.read_timeout == 60s);
    CHECK(c.node.name == "capf-node-1");
    CHECK(c.admin.allowed_group == std::optional<std::string>("capfadmin"));
    CHECK(c.admin.allowed_users == std::vector<std::string>{"root", "capfd"});
    CHECK(c.log.level == LogLevel::info);
    CHECK(c.trust.policy == "legacy");
    CHECK(c.limits.max_sessions_per_source == 32);
    CHECK(c.limits.auth_timeout == 10s);
    CHECK(c.limits.blocking_queue == 1024);
    CHECK(c.database.statement_timeout == 30s);
    CHECK(c.database.lock_timeout == 10s);
    CHECK_FALSE(c.auth.require_sudi);
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
    for (const char* bad : {"", "s", "10", "10 s", "-1s", "1.5s", "10d"}) {
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
