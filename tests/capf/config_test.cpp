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
