#include "capf/common/accept_backoff.hpp"

#include <asio/error.hpp>
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "capf/common/log.hpp"

// The file's own namespace: the suite is compiled in unity batches, and its
// file-local names must not meet another file's.
namespace accept_backoff_test_cases {

using namespace capf;
using namespace std::chrono_literals;

namespace {

struct CapturedLog {
    std::vector<std::string> lines;
    CapturedLog() {
        log::set_sink([this](std::string_view l) { lines.emplace_back(l); });
    }
    ~CapturedLog() { log::set_sink({}); }
    std::size_t count(std::string_view event) const {
        std::size_t n = 0;
        for (const auto& l : lines)
            n += l.find("event=" + std::string(event) + " ") != std::string::npos;
        return n;
    }
};

}  // namespace

TEST_CASE("accept: running out of descriptors or memory is exhaustion, in asio's category too") {
    // What async_accept hands back: asio's own "asio.system" category.
    CHECK(is_resource_exhaustion(asio::error::no_descriptors));
    CHECK(is_resource_exhaustion(asio::error::no_buffer_space));
    CHECK(is_resource_exhaustion(asio::error::no_memory));
    CHECK(is_resource_exhaustion(std::error_code(ENFILE, std::system_category())));
    CHECK_FALSE(is_resource_exhaustion(asio::error::connection_aborted));
    CHECK_FALSE(is_resource_exhaustion(asio::error::connection_reset));
    // The same number in another category is not an errno.
    CHECK_FALSE(is_resource_exhaustion(std::error_code(EMFILE, asio::error::get_misc_category())));
}

TEST_CASE("accept backoff: a dropped connection is retried at once and logged each time") {
    CapturedLog log;
    AcceptBackoff backoff("phone", 100ms);
    CHECK(backoff.failed(asio::error::connection_aborted) == 0ms);
    CHECK(backoff.failed(asio::error::connection_aborted) == 0ms);
    CHECK_FALSE(backoff.paused());
    CHECK(log.count("phone_accept_failed") == 2);
}

TEST_CASE(
    "accept backoff: EMFILE pauses every try, logged once, summed up when accepting resumes") {
    CapturedLog log;
    AcceptBackoff backoff("admin", 250ms);
    for (int i = 0; i < 1000; ++i)
        REQUIRE(backoff.failed(asio::error::no_descriptors) == 250ms);
    CHECK(backoff.paused());
    CHECK(log.count("admin_accept_paused") == 1);
    CHECK(log.count("admin_accept_failed") == 0);
    backoff.accepted();
    CHECK_FALSE(backoff.paused());
    REQUIRE(log.count("admin_accept_resumed") == 1);
    CHECK_THAT(log.lines.back(), Catch::Contains("failed_accepts=1000"));
    // A new episode is logged again; an accept outside one logs nothing.
    backoff.accepted();
    CHECK(backoff.failed(asio::error::no_descriptors) == 250ms);
    CHECK(log.count("admin_accept_paused") == 2);
    CHECK(log.count("admin_accept_resumed") == 1);
}

}  // namespace accept_backoff_test_cases
