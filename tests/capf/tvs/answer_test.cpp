// The TVS answer (capf/tvs/answer.hpp): a pure function of the request, the
// trusted view and the time.
#include "capf/tvs/answer.hpp"

#include <catch2/catch.hpp>

#include "ca/fingerprint.hpp"

namespace tvs_answer_test_cases {

using namespace capf;
using namespace std::chrono_literals;
namespace wire = capf::protocol::tvs;

namespace {

const std::vector<std::uint8_t> certificate_a = {0x30, 0x03, 0x02, 0x01, 0x0a};
const std::vector<std::uint8_t> certificate_b = {0x30, 0x03, 0x02, 0x01, 0x0b};
const auto now = std::chrono::system_clock::time_point(std::chrono::hours(24 * 20000));

tvs::TrustedSnapshot view_with(const std::vector<std::uint8_t>& der, tvs::TrustedEntry entry) {
    std::unordered_map<std::string, tvs::TrustedEntry> entries;
    entries.emplace(ca::sha256_hex(der), std::move(entry));
    return tvs::TrustedSnapshot(7, std::move(entries));
}

wire::VerifyRequest request_for(const std::vector<std::uint8_t>& der) {
    return wire::VerifyRequest{0x01020304, "CP-8845-SEP001122AABBCC", der};
}

}  // namespace

TEST_CASE("a stored certificate is answered valid with its roles and TTL, the session id echoed") {
    const auto view = view_with(certificate_a, {{1, 7}, 3600s, now + 24h * 30});
    const auto response = tvs::answer(request_for(certificate_a), view, now);
    CHECK(response.valid());
    CHECK(response.session_id == 0x01020304);
    CHECK(response.roles == std::vector<std::uint8_t>{1, 7});
    REQUIRE(response.ttl_seconds);
    CHECK(*response.ttl_seconds == 3600);
}

TEST_CASE("a certificate not in the store is answered invalid, with no roles and no TTL") {
    const auto view = view_with(certificate_a, {{1}, 3600s, now + 24h});
    const auto response = tvs::answer(request_for(certificate_b), view, now);
    CHECK_FALSE(response.valid());
    CHECK(response.session_id == 0x01020304);
    CHECK(response.roles.empty());
    CHECK_FALSE(response.ttl_seconds);
    CHECK_NOTHROW(wire::encode(response));  // an invalid answer encodes as STATUS alone
}

TEST_CASE("an expired certificate is answered invalid, even when stored") {
    CHECK_FALSE(tvs::answer(request_for(certificate_a),
                            view_with(certificate_a, {{3}, 3600s, now - 1s}), now)
                    .valid());
    CHECK_FALSE(
        tvs::answer(request_for(certificate_a), view_with(certificate_a, {{3}, 3600s, now}), now)
            .valid());
}

TEST_CASE("the TTL never runs past the certificate's expiry, and is never 0") {
    auto response = tvs::answer(request_for(certificate_a),
                                view_with(certificate_a, {{3}, 3600s, now + 90s}), now);
    REQUIRE(response.ttl_seconds);
    CHECK(*response.ttl_seconds == 90);
    response = tvs::answer(request_for(certificate_a),
                           view_with(certificate_a, {{3}, 3600s, now + 500ms}), now);
    REQUIRE(response.valid());
    CHECK(*response.ttl_seconds == 1);
}

TEST_CASE("an empty view (never loaded) answers everything invalid") {
    CHECK_FALSE(tvs::answer(request_for(certificate_a), tvs::TrustedSnapshot(), now).valid());
}

TEST_CASE("the trusted view hands out the snapshot in use, which a replacement leaves unchanged") {
    tvs::TrustedView view;
    CHECK(view.current()->version() == -1);
    auto held = view.current();
    view.replace(std::make_shared<const tvs::TrustedSnapshot>(
        view_with(certificate_a, {{1}, 60s, now + 24h})));
    CHECK(held->size() == 0);
    CHECK(view.current()->version() == 7);
    CHECK(view.current()->find(ca::sha256_hex(certificate_a)) != nullptr);
}

}  // namespace tvs_answer_test_cases
