#include "capf/admin/jsonrpc.hpp"

#include <catch2/catch.hpp>

using namespace capf::jsonrpc;

namespace {

Registry sample_registry() {
    Registry r;
    r.add({"echo", "returns its params", {"a"}, [](const json& p) { return p; }});
    r.add({"device.get", "needs a name", {"name"}, [](const json& p) {
               const std::string name = require_string(p, "name");
               if (name != "SEP001122334455") {
                   throw Error(ErrorCode::not_found, "no device named " + name);
               }
               return json{{"name", name}};
           }});
    r.add({"boom", "fails inside", {}, [](const json&) -> json {
               throw std::runtime_error("db exploded");
           }});
    r.add({"typed", "reads an int", {"n"}, [](const json& p) {
               return json(p.at("n").get<int>() + 1);
           }});
    return r;
}

json reply(const Registry& r, std::string_view line) {
    return json::parse(handle_line(r, line));
}

}  // namespace

TEST_CASE("a request gets its result with the same id") {
    const auto r = sample_registry();
    const json out = reply(r, R"({"jsonrpc":"2.0","id":7,"method":"echo","params":{"a":1}})");
    CHECK(out["jsonrpc"] == "2.0");
    CHECK(out["id"] == 7);
    CHECK(out["result"] == json{{"a", 1}});
    CHECK_FALSE(out.contains("error"));
    CHECK(reply(r, R"({"jsonrpc":"2.0","id":"x","method":"echo"})")["result"] == json::object());
}

TEST_CASE("malformed requests get the JSON-RPC error codes") {
    const auto r = sample_registry();
    CHECK(reply(r, "{not json")["error"]["code"] == -32700);
    CHECK(reply(r, "[1,2]")["error"]["code"] == -32600);
    CHECK(reply(r, R"({"id":1,"method":"echo"})")["error"]["code"] == -32600);
    CHECK(reply(r, R"({"jsonrpc":"2.0","id":1,"method":5})")["error"]["code"] == -32600);
    CHECK(reply(r, R"({"jsonrpc":"2.0","id":[1],"method":"echo"})")["error"]["code"] == -32600);
    CHECK(reply(r, R"({"jsonrpc":"2.0","id":1,"method":"echo","params":[1]})")["error"]["code"] ==
          -32602);
    const json unknown = reply(r, R"({"jsonrpc":"2.0","id":1,"method":"nope"})");
    CHECK(unknown["error"]["code"] == -32601);
    CHECK_THAT(unknown["error"]["message"].get<std::string>(), Catch::Contains("'nope'"));
}

TEST_CASE("method errors carry their code and a message naming the problem") {
    const auto r = sample_registry();
    json out = reply(r, R"({"jsonrpc":"2.0","id":1,"method":"device.get","params":{}})");
    CHECK(out["error"]["code"] == -32602);
    CHECK_THAT(out["error"]["message"].get<std::string>(), Catch::Contains("'name'"));
    out = reply(r, R"({"jsonrpc":"2.0","id":1,"method":"device.get","params":{"name":"SEPX"}})");
    CHECK(out["error"]["code"] == static_cast<int>(ErrorCode::not_found));
    CHECK(out["error"]["message"] == "no device named SEPX");
    out = reply(r, R"({"jsonrpc":"2.0","id":1,"method":"typed","params":{"n":"one"}})");
    CHECK(out["error"]["code"] == -32602);
}

TEST_CASE("internal failures do not leak their text to the client") {
    const auto r = sample_registry();
    const json out = reply(r, R"({"jsonrpc":"2.0","id":1,"method":"boom"})");
    CHECK(out["error"]["code"] == -32603);
    CHECK_THAT(out["error"]["message"].get<std::string>(), !Catch::Contains("exploded"));
}

TEST_CASE("a notification (no id) gets no response") {
    const auto r = sample_registry();
    CHECK(handle_line(r, R"({"jsonrpc":"2.0","method":"echo"})").empty());
}

TEST_CASE("a parameter the method does not declare is refused, naming the allowed ones") {
    const auto r = sample_registry();
    json out = reply(r, R"({"jsonrpc":"2.0","id":1,"method":"device.get","params":{"nme":"x"}})");
    CHECK(out["error"]["code"] == -32602);
    CHECK(out["error"]["message"] == "unknown parameter 'nme' for device.get; allowed: name");
    out = reply(r, R"({"jsonrpc":"2.0","id":1,"method":"boom","params":{"verbose":true}})");
    CHECK(out["error"]["code"] == -32602);
    CHECK(out["error"]["message"] == "unknown parameter 'verbose' for boom; allowed: none");
}

TEST_CASE("the registry finds a method with its declared parameters and lists the summaries") {
    const auto r = sample_registry();
    const MethodSpec* spec = r.find("typed");
    REQUIRE(spec != nullptr);
    CHECK(spec->name == "typed");
    CHECK(spec->params == std::vector<std::string>{"n"});
    CHECK(r.find("nope") == nullptr);
    CHECK(r.summaries().at("echo") == "returns its params");
    CHECK(r.summaries().size() == 4);
}
