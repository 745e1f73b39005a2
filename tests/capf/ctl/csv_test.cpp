#include "capf/ctl/csv.hpp"

#include <catch2/catch.hpp>
#include <sstream>

// The file's own namespace: the suite is compiled in unity batches, and its
// file-local names must not meet another file's.
namespace csv_test_cases {

using namespace capf;
using Records = std::vector<std::vector<std::string>>;

Records parse(const std::string& text) {
    std::istringstream in(text);
    return read_csv(in);
}

TEST_CASE("csv: fields, quotes, doubled quotes, line breaks in quotes, CRLF, blank lines") {
    CHECK(parse("a,b,c\n") == Records{{"a", "b", "c"}});
    CHECK(parse("a,,c") == Records{{"a", "", "c"}});
    CHECK(parse("a,\"Lobby, east\"\r\nb,x\r\n") == Records{{"a", "Lobby, east"}, {"b", "x"}});
    CHECK(parse("\"say \"\"hi\"\"\",2\n") == Records{{"say \"hi\"", "2"}});
    CHECK(parse("\"two\nlines\",x\n\n\ny\n") == Records{{"two\nlines", "x"}, {"y"}});
    CHECK(parse("a,\n") == Records{{"a", ""}});
    CHECK(parse("").empty());
}

TEST_CASE("csv: an unclosed quote or text after a quote names the line") {
    CHECK_THROWS_WITH(parse("a\nb,\"open\n"),
                      Catch::Contains("line 2") && Catch::Contains("never closed"));
    CHECK_THROWS_WITH(parse("a\n\"q\"x,1\n"),
                      Catch::Contains("line 2") && Catch::Contains("after a closing quote"));
}

}  // namespace csv_test_cases
