// The ITL role names: one table, read in any case, and the numbers of
// section 9.
#include "protocol/itl_role_names.hpp"

#include <catch2/catch.hpp>

// The file's own namespace: the suite is compiled in unity batches, and its
// file-local names must not meet another file's.
namespace itl_role_names_test_cases {

using capf::protocol::ItlRole;
namespace protocol = capf::protocol;

TEST_CASE("itl roles: every role's name reads back as that role, with section 9's number") {
    const std::pair<std::string, std::uint16_t> expected[] = {
        {"sast", 0}, {"ccm", 1},        {"ccm-tftp", 2}, {"tftp", 3},
        {"capf", 4}, {"app-server", 7}, {"tvs", 21}};
    REQUIRE(std::size(protocol::all_itl_roles) == std::size(expected));
    for (std::size_t i = 0; i < std::size(expected); ++i) {
        const ItlRole role = protocol::all_itl_roles[i];
        CHECK(protocol::itl_role_name(role) == expected[i].first);
        CHECK(static_cast<std::uint16_t>(role) == expected[i].second);
        CHECK(protocol::parse_itl_role(expected[i].first) == role);
        CHECK(protocol::itl_role_from_number(expected[i].second) == role);
    }
    CHECK(protocol::itl_role_names() == "sast, ccm, ccm-tftp, tftp, capf, app-server, tvs");
}

TEST_CASE("itl roles: names are read in any case, anything else is no role") {
    CHECK(protocol::parse_itl_role("CCM") == ItlRole::ccm);
    CHECK(protocol::parse_itl_role("APP-SERVER") == ItlRole::app_server);
    CHECK(protocol::parse_itl_role("Ccm-Tftp") == ItlRole::ccm_tftp);
    for (const char* bad : {"", "ccm ", "app_server", "appserver", "tvss", "0"}) {
        INFO(bad);
        CHECK_FALSE(protocol::parse_itl_role(bad).has_value());
    }
    CHECK_FALSE(protocol::itl_role_from_number(5).has_value());
    CHECK_FALSE(protocol::itl_role_from_number(22).has_value());
}

}  // namespace itl_role_names_test_cases
