#include "capf/common/log.hpp"

#include <catch2/catch.hpp>
#include <string>
#include <vector>

// The file's own namespace: the suite is compiled in unity batches, and its
// file-local names must not meet another file's.
namespace log_test_cases {

using namespace capf;

TEST_CASE("log lines are logfmt with quoting for spaces, quotes and control bytes") {
    const std::string line = log::format_line(log::Level::warn, "session_end",
                                              {{"device", "SEP001122334455"},
                                               {"detail", "two words"},
                                               {"quote", "a\"b"},
                                               {"nl", "x\ny"},
                                               {"empty", ""},
                                               {"n", 42},
                                               {"ok", true}},
                                              false);
    CHECK(line ==
          "level=warn event=session_end device=SEP001122334455 detail=\"two words\" "
          "quote=\"a\\\"b\" nl=\"x\\x0ay\" empty=\"\" n=42 ok=true");
}

TEST_CASE("log lines carry a UTC timestamp unless journald adds its own") {
    const std::string line = log::format_line(log::Level::info, "started", {}, true);
    CHECK(line.rfind("ts=", 0) == 0);
    CHECK_THAT(line, Catch::Contains("Z level=info event=started"));
}

TEST_CASE("the level filters what is written") {
    std::vector<std::string> lines;
    log::set_sink([&](std::string_view l) { lines.emplace_back(l); });
    log::set_level(log::Level::warn);
    log::info("hidden");
    log::warn("shown");
    log::error("shown_too");
    log::set_level(log::Level::info);
    log::set_sink({});
    REQUIRE(lines.size() == 2);
    CHECK_THAT(lines[0], Catch::Contains("event=shown"));
    CHECK_THAT(lines[1], Catch::Contains("level=error"));
}

}  // namespace log_test_cases
