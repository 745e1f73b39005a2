// capfctl's output helpers: tables, CSV and nested lines.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <sstream>

#include "capf/ctl/output.hpp"

// The file's own namespace: the suite is compiled in unity batches, and its
// file-local names must not meet another file's.
namespace ctl_output_test_cases {

using namespace capf::ctl;
using json = nlohmann::json;

namespace {

std::string table(const json& rows, const Columns& columns) {
    std::ostringstream out;
    print_table(rows, columns, out);
    return out.str();
}

std::string csv(const json& rows, const Columns& columns) {
    std::ostringstream out;
    print_csv(rows, columns, out);
    return out.str();
}

std::string nested(const json& value) {
    std::ostringstream out;
    print_nested(value, out);
    return out.str();
}

const Columns two = {{"name", "DEVICE"}, {"status", "STATUS"}};

}  // namespace

TEST_CASE("ctl output: a table ends with a newline, and an empty one is its header line") {
    CHECK(table(json::array(), two) == "DEVICE  STATUS\n");
    CHECK(table(json(), two) == "DEVICE  STATUS\n");  // a result without the list
    const std::string t =
        table(json::array({{{"name", "SEP001122334455"}, {"status", "pending"}}}), two);
    CHECK(t == "DEVICE           STATUS\nSEP001122334455  pending\n");
    CHECK(t.back() == '\n');
}

TEST_CASE("ctl output: table cells: missing and null as -, booleans as yes/no, times as given") {
    const json rows = json::array({{{"name", "A"}, {"lsc", true}, {"at", "2025-01-31T23:59:59Z"}},
                                   {{"name", "LONGER"}, {"lsc", false}, {"at", nullptr}}});
    CHECK(table(rows, {{"name", "DEVICE"}, {"lsc", "LSC"}, {"at", "TIME"}, {"n", "N"}}) ==
          "DEVICE  LSC  TIME                  N\n"
          "A       yes  2025-01-31T23:59:59Z  -\n"
          "LONGER  no   -                     -\n");
    CHECK(cell(json(42)) == "42");
    CHECK(cell(json::object({{"a", 1}})) == "{\"a\":1}");
}

TEST_CASE("ctl output: CSV quotes commas, quotes and line breaks, and ends with a newline") {
    CHECK(csv_field("plain") == "plain");
    CHECK(csv_field("Lobby, east") == "\"Lobby, east\"");
    CHECK(csv_field("say \"hi\"") == "\"say \"\"hi\"\"\"");
    CHECK(csv_field("two\nlines") == "\"two\nlines\"");
    CHECK(csv_field("cr\r") == "\"cr\r\"");
    CHECK(csv_field("") == "");
    const json rows = json::array({{{"name", "A"}, {"status", "x,y"}}, {{"name", "B"}}});
    CHECK(csv(rows, two) == "name,status\nA,\"x,y\"\nB,\n");
    CHECK(csv(json::array(), two) == "name,status\n");
}

TEST_CASE("ctl output: nested values print as indented lines, not JSON") {
    const json summary = {{"issuer", "CN=CAPF"},
                          {"devices_by_status", {{"pending", 3}, {"succeeded", 1}}},
                          {"empty", json::object()},
                          {"listen", "127.0.0.1:3804"},
                          {"tags", json::array({"a", "b"})},
                          {"locked", false}};
    CHECK(nested(summary) ==
          "devices_by_status:\n"
          "  pending: 3\n"
          "  succeeded: 1\n"
          "empty: (none)\n"
          "issuer: CN=CAPF\n"
          "listen: 127.0.0.1:3804\n"
          "locked: no\n"
          "tags:\n"
          "  - a\n"
          "  - b\n");
    CHECK(nested(json::parse(R"({"a": {"b": {"c": null}}})")) == "a:\n  b:\n    c: -\n");
    std::ostringstream out;
    print_nested({{"k", 1}}, out, 4);
    CHECK(out.str() == "    k: 1\n");
}

TEST_CASE("ctl output: set_if_given leaves out empty options") {
    json params = json::object();
    set_if_given(params, "prefix", "");
    set_if_given(params, "name", "SEP1");
    CHECK(params == json{{"name", "SEP1"}});
}

}  // namespace ctl_output_test_cases
