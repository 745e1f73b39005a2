// One list of key specs (ca/key_spec.hpp), and every place that checks a
// key spec agrees with it: the configuration, the admin methods' check, and
// the database's CHECK constraint written in migration 1.
#include <catch2/catch.hpp>
#include <set>

#include "ca/key_spec.hpp"
#include "capf/common/config.hpp"
#include "tests/storage/pg_test_support.hpp"
#include "tests/storage/repositories.hpp"

// The file's own namespace: the suite is compiled in unity batches, and its
// file-local names must not meet another file's.
namespace key_spec_agreement_test_cases {

using namespace capf;

namespace {

const char* const not_key_specs[] = {"rsa-768",   "rsa-8192", "ec-p224", "RSA-2048",
                                     "rsa-2048 ", "ec-256",   "",        "rsa"};

std::set<std::string> phone_spec_texts() {
    std::set<std::string> out;
    for (const auto& spec : ca::phone_key_specs())
        out.insert(spec.text());
    return out;
}

bool config_accepts(const std::string& spec) {
    try {
        const auto c = parse_config(R"({"lsc": {"default_key_spec": ")" + spec + R"("}})");
        return c.lsc.default_key_spec.text() == spec;
    } catch (const ConfigError& e) {
        CHECK_THAT(std::string(e.what()), Catch::Contains("lsc.default_key_spec"));
        return false;
    }
}

}  // namespace

TEST_CASE("key specs: the configuration accepts exactly the one list") {
    REQUIRE(phone_spec_texts().size() == 8);
    for (const auto& spec : phone_spec_texts()) {
        INFO(spec);
        CHECK(config_accepts(spec));
        CHECK(ca::parse_key_spec(spec).has_value());
    }
    for (const char* bad : not_key_specs) {
        INFO(bad);
        CHECK_FALSE(config_accepts(bad));
        CHECK_FALSE(ca::parse_key_spec(bad).has_value());
    }
}

TEST_CASE("key specs: capfd init's identity keys are a subset, without weak RSA or P-521") {
    for (const auto& spec : ca::identity_key_specs()) {
        INFO(spec.text());
        CHECK(ca::is_one_of(spec, ca::phone_key_specs()));
        CHECK(ca::parse_identity_key_spec(spec.text()) == spec);
    }
    for (const char* weak : {"rsa-512", "rsa-1024", "ec-p521"}) {
        INFO(weak);
        CHECK(ca::parse_key_spec(weak).has_value());
        CHECK_FALSE(ca::parse_identity_key_spec(weak).has_value());
    }
}

TEST_CASE("key specs: the database's CHECK constraint holds exactly the one list") {
    test::TestDatabase db;
    pqxx::connection conn(db.conninfo());
    pqxx::nontransaction txn(conn);
    const auto rows = txn.exec(R"SQL(
        SELECT pg_get_constraintdef(oid) FROM pg_constraint
        WHERE conrelid = 'devices'::regclass AND contype = 'c'
          AND pg_get_constraintdef(oid) LIKE '%key_spec%')SQL");
    REQUIRE(rows.size() == 1);
    const std::string definition = rows[0][0].as<std::string>();
    // Every quoted literal of the constraint (no std::regex: GCC 12 warns
    // inside it at -O3).
    std::set<std::string> in_check;
    for (std::size_t open = definition.find('\''); open != std::string::npos;) {
        const std::size_t close = definition.find('\'', open + 1);
        REQUIRE(close != std::string::npos);
        in_check.insert(definition.substr(open + 1, close - open - 1));
        open = definition.find('\'', close + 1);
    }
    INFO(definition);
    CHECK(in_check == phone_spec_texts());

    // And the constraint does what it says, through the repository.
    test::Repositories repo(*db.pool);
    int n = 0;
    for (const auto& spec : phone_spec_texts()) {
        const std::string name = "SEP00000000000" + std::to_string(n++);
        CHECK(repo.devices
                  .add_device({name, "", storage::AuthMode::null_string, spec}, test::admin_actor)
                  .key_spec == spec);
    }
    for (const char* bad : not_key_specs) {
        INFO(bad);
        CHECK(test::storage_error_of([&] {
                  repo.devices.add_device(
                      {"SEP0000000000FF", "", storage::AuthMode::null_string, bad},
                      test::admin_actor);
              }) == storage::StorageErrc::invalid_value);
    }
}

}  // namespace key_spec_agreement_test_cases
