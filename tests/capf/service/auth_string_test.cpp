#include "capf/service/auth_string.hpp"

#include <catch2/catch.hpp>
#include <set>

// The file's own namespace: the suite is compiled in unity batches, and its
// file-local names must not meet another file's.
namespace auth_string_test_cases {

using namespace capf;

TEST_CASE("auth strings are 4 to 10 digits, random ones included") {
    CHECK(valid_auth_string("1234"));
    CHECK(valid_auth_string("0123456789"));
    CHECK_FALSE(valid_auth_string("123"));
    CHECK_FALSE(valid_auth_string("01234567890"));
    CHECK_FALSE(valid_auth_string("12a4"));
    CHECK_FALSE(valid_auth_string(""));
    std::set<std::string> seen;
    for (std::size_t digits = 4; digits <= 10; ++digits) {
        const auto s = random_auth_string(digits);
        CHECK(s.size() == digits);
        CHECK(valid_auth_string(s));
        seen.insert(random_auth_string(10));
    }
    CHECK(seen.size() == 7);  // 10-digit strings repeat with probability ~1e-9
    CHECK_THROWS_AS(random_auth_string(3), std::invalid_argument);
    CHECK_THROWS_AS(random_auth_string(11), std::invalid_argument);
}

TEST_CASE("an auth string hash records its iterations and matches only its string") {
    const auto h = hash_auth_string("482916", 1000);
    CHECK(h.rfind("pbkdf2-sha256$1000$", 0) == 0);
    CHECK(check_auth_string("482916", h));
    CHECK_FALSE(check_auth_string("482917", h));
    CHECK_FALSE(check_auth_string("", h));
    // A fresh salt every time: equal strings give different hashes.
    CHECK(hash_auth_string("482916", 1000) != h);
    // Malformed or weakened stored values never match.
    CHECK_FALSE(check_auth_string("482916", "482916"));
    CHECK_FALSE(check_auth_string("482916", "pbkdf2-sha256$1000$zz$00"));
    std::string weak = h;
    weak.replace(weak.find("$1000$"), 6, "$999$");
    CHECK_FALSE(check_auth_string("482916", weak));
}

TEST_CASE("bulk hashing on several threads gives each string its own hash") {
    std::vector<std::string> secrets;
    for (int i = 0; i < 300; ++i)
        secrets.push_back(std::to_string(100000 + i));
    const auto hashes = hash_auth_strings(secrets, 1000, 4);
    REQUIRE(hashes.size() == secrets.size());
    for (std::size_t i = 0; i < secrets.size(); i += 37) {
        CHECK(check_auth_string(secrets[i], hashes[i]));
        CHECK_FALSE(check_auth_string(secrets[(i + 1) % secrets.size()], hashes[i]));
    }
    CHECK(hash_auth_strings({}, 1000, 4).empty());
}

}  // namespace auth_string_test_cases
