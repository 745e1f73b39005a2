#include "capf/admin/jsonrpc.hpp"

#include <catch2/catch.hpp>

// The file's own namespace: the suite is compiled in unity batches, and its
// file-local names must not meet another file's.
namespace jsonrpc_test_cases {

using namespace capf::jsonrpc;

namespace {

Registry sample_registry() {
    Registry r;
    r.add({"echo", Role::admin, "returns its params", {"a"}, [](const json& p) { return p; }});
    r.add({"device.get", Role::admin, "needs a name", {"name"}, [](const json& p) {
               const std::string name = require_string(p, "name");
               if (name != "SEP001122334455") {
                   throw Error(ErrorCode::not_found, "no device named " + name);
               }
               return json{{"name", name}};
           }});
    r.add({"boom", Role::admin, "fails inside", {}, [](const json&) -> json {
               throw std::runtime_error("db exploded");
           }});
    r.add({"typed", Role::admin, "reads an int", {"n"}, [](const json& p) {
               return json(p.at("n").get<int>() + 1);
           }});
    return r;
}

const Caller admin_caller{Role::admin, "uid 0 (root) has the admin role (root)"};

json reply(const Registry& r, std::string_view line) {
    return json::parse(handle_line(r, line, admin_caller));
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
    CHECK(handle_line(r, R"({"jsonrpc":"2.0","method":"echo"})", admin_caller).empty());
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

namespace {

/// An echo request whose params nest to `depth` levels in all, counting the
/// request object itself (1) and params (2).
std::string nested_request(std::size_t depth) {
    REQUIRE(depth >= 3);
    const std::size_t arrays = depth - 2;
    return R"({"jsonrpc":"2.0","id":1,"method":"echo","params":{"a":)" + std::string(arrays, '[') +
           std::string(arrays, ']') + "}}";
}

}  // namespace

TEST_CASE("a request nested exactly max_json_depth levels is parsed and answered") {
    const auto r = sample_registry();
    const std::string line = nested_request(max_json_depth);
    CHECK_FALSE(nested_deeper_than(line, max_json_depth));
    const json out = reply(r, line);
    REQUIRE(out.contains("result"));
    json inner = out["result"]["a"];
    std::size_t levels = 0;
    while (inner.is_array() && !inner.empty()) {
        inner = inner[0];
        ++levels;
    }
    CHECK(levels == max_json_depth - 3);  // the innermost array is empty
}

TEST_CASE("a request nested one level deeper than max_json_depth is refused before parsing") {
    const auto r = sample_registry();
    const std::string line = nested_request(max_json_depth + 1);
    CHECK(nested_deeper_than(line, max_json_depth));
    const json out = reply(r, line);
    CHECK(out["error"]["code"] == -32600);
    CHECK_THAT(out["error"]["message"].get<std::string>(),
               Catch::Contains("nested deeper than 64 levels"));
    CHECK(out["id"].is_null());
}

TEST_CASE("100000 unclosed brackets are refused without overflowing the stack") {
    const auto r = sample_registry();
    const json out = reply(r, std::string(100000, '['));
    CHECK(out["error"]["code"] == -32600);
    CHECK_THAT(out["error"]["message"].get<std::string>(), Catch::Contains("nested deeper"));
    CHECK(reply(r, std::string(100000, '{'))["error"]["code"] == -32600);
}

TEST_CASE("brackets inside strings, escaped quotes included, do not count as nesting") {
    const std::string brackets(1000, '[');
    const std::string in_string = R"({"jsonrpc":"2.0","id":1,"method":"echo","params":{"a":")" +
                                  brackets + R"(\"\\)" + brackets + R"("}})";
    CHECK_FALSE(nested_deeper_than(in_string, max_json_depth));
    const auto r = sample_registry();
    CHECK(reply(r, in_string)["result"]["a"].get<std::string>().size() == 2002);
    // An escaped quote does not end the string; an escaped backslash does not
    // escape the quote after it, so the brackets after it count.
    CHECK_FALSE(nested_deeper_than(R"(["\"[[[["])", 1));
    CHECK(nested_deeper_than(R"(["\\"[[[[)", 1));
}

namespace {

/// device.remove needs the admin role and counts its calls in `changes`;
/// device.get needs read-only and echoes its params.
Registry one_of_each_role(int& changes) {
    Registry r;
    r.add({"device.remove", Role::admin, "changes something", {"name"}, [&changes](const json&) {
               ++changes;
               return json(true);
           }});
    r.add({"device.get", Role::read_only, "reads", {"name"}, [](const json& p) { return p; }});
    return r;
}

}  // namespace

TEST_CASE("a read-only caller is refused a method that needs the admin role, naming both") {
    int changes = 0;
    const Registry r = one_of_each_role(changes);
    const Caller reader{Role::read_only,
                        "uid 1001 (alice) has the read-only role (admin.readonly_users)"};

    const json refused = json::parse(handle_line(
        r, R"({"jsonrpc":"2.0","id":3,"method":"device.remove","params":{"name":"SEP1"}})",
        reader));
    CHECK(refused["id"] == 3);
    CHECK(refused["error"]["code"] == static_cast<int>(ErrorCode::permission_denied));
    CHECK(refused["error"]["message"] ==
          "method device.remove needs the admin role; uid 1001 (alice) has the read-only role "
          "(admin.readonly_users); the admin role is for root, the service user, "
          "admin.allowed_users and members of admin.allowed_group");
    CHECK(changes == 0);

    // Refused before its parameters are looked at: a typo does not change the answer.
    const json typo = json::parse(handle_line(
        r, R"({"jsonrpc":"2.0","id":4,"method":"device.remove","params":{"nmae":"SEP1"}})",
        reader));
    CHECK(typo["error"]["code"] == static_cast<int>(ErrorCode::permission_denied));

    const json read = json::parse(handle_line(
        r, R"({"jsonrpc":"2.0","id":5,"method":"device.get","params":{"name":"SEP1"}})", reader));
    CHECK(read["result"] == json{{"name", "SEP1"}});

    // The same request from an admin runs.
    const json done = json::parse(handle_line(
        r, R"({"jsonrpc":"2.0","id":6,"method":"device.remove","params":{"name":"SEP1"}})",
        admin_caller));
    CHECK(done["result"] == true);
    CHECK(changes == 1);
}

TEST_CASE("a request may lower its own role to read-only, never raise it") {
    int changes = 0;
    const Registry r = one_of_each_role(changes);

    // An admin uid (a health check running as the service user) that asks
    // for read-only is refused what changes anything, and says why.
    const json refused = json::parse(handle_line(
        r,
        R"({"jsonrpc":"2.0","id":1,"capf_role":"read-only","method":"device.remove","params":{"name":"SEP1"}})",
        admin_caller));
    CHECK(refused["error"]["code"] == static_cast<int>(ErrorCode::permission_denied));
    CHECK_THAT(refused["error"]["message"].get<std::string>(),
               Catch::StartsWith("method device.remove needs the admin role; uid 0 (root) has the "
                                 "admin role (root), lowered to read-only by the request"));
    CHECK(changes == 0);
    const json read = json::parse(handle_line(
        r,
        R"({"jsonrpc":"2.0","id":2,"capf_role":"read-only","method":"device.get","params":{"name":"SEP1"}})",
        admin_caller));
    CHECK(read["result"] == json{{"name", "SEP1"}});

    // Nothing else may be asked for: a read-only caller cannot ask for admin.
    const Caller reader{Role::read_only, "uid 1001 (alice) has the read-only role"};
    for (const char* value : {R"("admin")", R"("")", "1", "null"}) {
        INFO(value);
        const json bad =
            json::parse(handle_line(r,
                                    std::string(R"({"jsonrpc":"2.0","id":3,"capf_role":)") + value +
                                        R"(,"method":"device.remove","params":{"name":"SEP1"}})",
                                    reader));
        CHECK(bad["error"]["code"] == static_cast<int>(ErrorCode::invalid_request));
        CHECK_THAT(bad["error"]["message"].get<std::string>(),
                   Catch::Contains("a request can only lower its role"));
    }
    CHECK(changes == 0);
}

TEST_CASE("the registry keeps the role each method needs") {
    const auto r = sample_registry();
    REQUIRE(r.find("echo") != nullptr);
    CHECK(r.find("echo")->needs == Role::admin);
    Registry reads;
    reads.add({"peek", Role::read_only, "reads", {}, [](const json&) { return json(1); }});
    CHECK(reads.find("peek")->needs == Role::read_only);
    CHECK(std::string(role_name(Role::read_only)) == "read-only");
    CHECK(std::string(role_name(Role::admin)) == "admin");
}

}  // namespace jsonrpc_test_cases
