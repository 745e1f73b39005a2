// capfctl's command line, parsed without a socket: what each subcommand asks
// capfd for, where capfctl's own options may go, and how results are shown
// (through a fake capfd for commands of more than one call).
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>

#include "capf/ctl/cli.hpp"

// The file's own namespace: the suite is compiled in unity batches, and its
// file-local names must not meet another file's.
namespace ctl_cli_test_cases {

using namespace capf::ctl;

namespace {

std::unique_ptr<Cli> parsed(std::vector<std::string> args) {
    auto cli = std::make_unique<Cli>("/default.sock");
    cli->parse(std::move(args));
    return cli;
}

json params_of(std::vector<std::string> args) {
    return parsed(std::move(args))->command.params;
}

std::string shown(const Cli& cli, const json& result) {
    std::ostringstream out;
    print_result(cli.global, cli.command, result, out);
    return out.str();
}

/// Stands in for capfd: records every call and answers with `answer`.
struct FakeCapfd {
    std::vector<std::pair<std::string, json>> calls;
    std::function<json(const std::string&, const json&)> answer;

    Call call() {
        return [this](const std::string& method, const json& params) {
            calls.emplace_back(method, params);
            return answer(method, params);
        };
    }
};

}  // namespace

TEST_CASE("ctl cli: --json, --socket and --timeout go before or after the subcommand") {
    const auto after = parsed({"device", "get", "SEP001122334455", "--json"});
    CHECK(after->global.json);
    CHECK(after->command.method == "device.get");
    CHECK(after->command.params == json{{"name", "SEP001122334455"}});
    CHECK(after->global.socket_path == "/default.sock");
    CHECK(after->global.timeout_seconds == 120);
    CHECK(shown(*after, {{"name", "X"}}) == "{\n  \"name\": \"X\"\n}\n");

    CHECK(parsed({"--json", "device", "get", "SEP001122334455"})->global.json);
    CHECK_FALSE(parsed({"device", "get", "SEP001122334455"})->global.json);
    CHECK(parsed({"auth-string", "generate", "--all", "--csv", "--json"})->global.json);

    const auto both =
        parsed({"device", "list", "--socket", "/tmp/a.sock", "--prefix", "SEP", "--timeout", "5"});
    CHECK(both->global.socket_path == "/tmp/a.sock");
    CHECK(both->global.timeout_seconds == 5);
    CHECK(both->command.params == json{{"prefix", "SEP"}, {"limit", 100}});
    CHECK(parsed({"--socket", "/s", "version"})->global.socket_path == "/s");
    CHECK_THROWS_AS(parsed({"version", "--timeout", "0"}), CLI::ValidationError);
}

TEST_CASE("ctl cli: trust list without a role lists every role, with a ROLE column") {
    const auto cli = parsed({"trust", "list"});
    FakeCapfd capfd;
    capfd.answer = [](const std::string&, const json& params) {
        const std::string role = params.at("role");
        const std::string subject = role == "lsc-issuer"  ? "CN=Issuer"
                                    : role == "mic-root"  ? "CN=Root"
                                    : role == "sudi-root" ? "CN=SUDI"
                                                          : "CN=Mfg";
        return json{{"anchors", json::array({{{"subject", subject},
                                              {"sha256", "ab"},
                                              {"not_after", "2030-01-01T00:00:00Z"},
                                              {"source", "config"}}})}};
    };
    const json result = execute(cli->command, capfd.call());
    REQUIRE(capfd.calls.size() == 4);
    CHECK(capfd.calls[0] == std::pair<std::string, json>{"trust.list", {{"role", "lsc-issuer"}}});
    CHECK(capfd.calls[1] == std::pair<std::string, json>{"trust.list", {{"role", "mic-root"}}});
    CHECK(capfd.calls[2] == std::pair<std::string, json>{"trust.list", {{"role", "sudi-root"}}});
    CHECK(capfd.calls[3] == std::pair<std::string, json>{"trust.list", {{"role", "intermediate"}}});
    REQUIRE(result.at("anchors").size() == 4);
    CHECK(result["anchors"][0]["role"] == "lsc-issuer");
    CHECK(result["anchors"][1]["role"] == "mic-root");
    CHECK(result["anchors"][3]["role"] == "intermediate");
    CHECK(shown(*cli, result) ==
          "ROLE          SUBJECT    EXPIRES               SOURCE  SHA-256\n"
          "lsc-issuer    CN=Issuer  2030-01-01T00:00:00Z  config  ab\n"
          "mic-root      CN=Root    2030-01-01T00:00:00Z  config  ab\n"
          "sudi-root     CN=SUDI    2030-01-01T00:00:00Z  config  ab\n"
          "intermediate  CN=Mfg     2030-01-01T00:00:00Z  config  ab\n");

    capfd.answer = [](const std::string&, const json&) { return json{{"anchors", json::array()}}; };
    CHECK(shown(*cli, execute(cli->command, capfd.call())) ==
          "ROLE  SUBJECT  EXPIRES  SOURCE  SHA-256\n");

    const auto one = parsed({"trust", "list", "mic-root"});
    CHECK_FALSE(one->command.run);
    CHECK(one->command.method == "trust.list");
    CHECK(one->command.params == json{{"role", "mic-root"}});
}

TEST_CASE("ctl cli: each subcommand sends its own options and no other's") {
    CHECK(params_of({"schedule", "install", "--prefix", "SEP00", "--all"}) ==
          json{{"operation", "install"}, {"prefix", "SEP00"}, {"all", true}});
    CHECK(params_of({"schedule", "fetch", "SEP1"}) ==
          json{{"operation", "fetch"}, {"name", "SEP1"}});
    CHECK(params_of({"device", "list"}) == json{{"limit", 100}});
    CHECK(params_of({"device", "update", "SEP1", "--description", "Ward 4"}) ==
          json{{"name", "SEP1"}, {"description", "Ward 4"}});
    CHECK(params_of({"device", "add", "SEP1", "--auth", "lsc", "--key", "ec-p256"}) ==
          json{{"name", "SEP1"}, {"auth_mode", "lsc"}, {"key_spec", "ec-p256"}});
    CHECK(params_of({"audit", "--device", "SEP1", "--limit", "5"}) ==
          json{{"device", "SEP1"}, {"limit", 5}});
    CHECK(params_of({"auth-string", "generate", "SEP1"}) == json{{"name", "SEP1"}, {"digits", 6}});
    CHECK(params_of({"auth-string", "pending"}) == json::object());
    CHECK(params_of({"report"}) == json::object());
    CHECK(params_of({"report", "--expiring", "0"}) == json{{"expiring_days", 0}});
    CHECK(params_of({"export-cert", "--der"}) == json{{"format", "der"}});
    CHECK(params_of({"call", "device.get", "{\"name\": \"X\"}"}) == json{{"name", "X"}});
    // Another subcommand's option is not this one's.
    CHECK_THROWS_AS(parsed({"device", "get", "SEP1", "--all"}), CLI::ExtrasError);
    CHECK_THROWS_AS(parsed({"cancel", "SEP1", "--prefix", "SEP"}), CLI::ExtrasError);
    // --csv of one command does not change another's output.
    const json strings = {
        {"auth_strings", json::array({{{"name", "A"}, {"auth_string", "1234"}}})}};
    CHECK(shown(*parsed({"auth-string", "generate", "A", "--csv"}), strings) ==
          "name,auth_string\nA,1234\n");
    CHECK(shown(*parsed({"auth-string", "generate", "A"}), strings) ==
          "DEVICE  AUTH STRING\nA       1234\n");
}

TEST_CASE("ctl cli: a subcommand is required and call's params must be JSON") {
    CHECK_THROWS_AS(parsed({}), CLI::RequiredError);
    CHECK_THROWS_AS(parsed({"device"}), CLI::RequiredError);
    CHECK_THROWS_AS(parsed({"version", "summary"}), CLI::ExtrasError);
    CHECK_THROWS_WITH(parsed({"call", "m", "{oops"}), Catch::Contains("must be a JSON object"));
}

TEST_CASE("ctl cli: summary and stats print nested values as indented lines") {
    const json summary = {{"issuer", "CN=CAPF-e2e"},
                          {"devices_by_status", {{"pending", 3}, {"succeeded", 1}}}};
    CHECK(shown(*parsed({"summary"}), summary) ==
          "devices_by_status:\n  pending: 3\n  succeeded: 1\nissuer: CN=CAPF-e2e\n");
    const json stats = {{"uptime_seconds", 5},
                        {"sessions", {{"active", 0}}},
                        {"devices", {{"total", 2}}},
                        {"trust_anchors", {{"mic_roots", 0}}},
                        {"events_last_24h", json::array()}};
    CHECK(shown(*parsed({"stats"}), stats) ==
          "uptime: 5 s\ndevices:\n  total: 2\nsessions:\n  active: 0\ntrust_anchors:\n"
          "  mic_roots: 0\nevents in the last 24 hours:\nEVENT  OUTCOME  COUNT\n");
}

TEST_CASE("ctl cli: device tables end with a newline, even empty") {
    const auto list = parsed({"device", "list"});
    const std::string empty = shown(*list, {{"devices", json::array()}, {"next_after", nullptr}});
    CHECK(empty == "DEVICE  AUTH  KEY  OPERATION  STATUS  LSC SERIAL  LSC EXPIRES\n");
    const json device = {
        {"name", "SEP1"},
        {"auth_mode", "lsc"},
        {"lsc", {{"serial", "0A"}, {"not_after", "2026-03-01T12:00:00Z"}, {"md5", "ff"}}}};
    const std::string page =
        shown(*list, {{"devices", json::array({device})}, {"next_after", "SEP1"}});
    CHECK_THAT(page, Catch::Contains("2026-03-01T12:00:00Z\n(more: --after SEP1)\n"));
    const std::string one = shown(*parsed({"device", "get", "SEP1"}), device);
    CHECK_THAT(one, Catch::Contains("lsc_not_after: 2026-03-01T12:00:00Z\n"));
    CHECK_THAT(one, !Catch::Contains("{"));
}

TEST_CASE("ctl cli: device import sends the file's devices in chunks") {
    const auto path = std::filesystem::temp_directory_path() /
                      ("ctl_import_" + std::to_string(::getpid()) + ".csv");
    std::ofstream(path) << "name,description\nSEP1,\"Lobby, east\"\nSEP2\nSEP3,,lsc\n";
    const auto cli = parsed({"device", "import", path.string(), "--chunk", "2"});
    FakeCapfd capfd;
    capfd.answer = [](const std::string&, const json& params) {
        return json{{"added", params.at("devices").size()}};
    };
    const json result = execute(cli->command, capfd.call());
    std::filesystem::remove(path);
    REQUIRE(capfd.calls.size() == 2);
    CHECK(capfd.calls[0].first == "device.add_bulk");
    CHECK(capfd.calls[0].second["devices"] ==
          json::array({{{"name", "SEP1"}, {"description", "Lobby, east"}}, {{"name", "SEP2"}}}));
    CHECK(capfd.calls[1].second["devices"] ==
          json::array({{{"name", "SEP3"}, {"auth_mode", "lsc"}}}));
    CHECK(shown(*cli, result) == "added 3 of 3 device(s)\n");
    CHECK(shown(*cli, {{"added", 1}, {"in_file", 3}}) ==
          "added 1 of 3 device(s); the others already existed and were kept\n");
}

TEST_CASE("ctl cli: cert list DEVICE shows a table of serial, standing, issued, not after, md5") {
    const auto cli = parsed({"cert", "list", "SEP001122334455"});
    CHECK(cli->command.method == "cert.list");
    CHECK(cli->command.params == json{{"device", "SEP001122334455"}});
    const json result = json::array({{{"serial", "c2"},
                                      {"standing", "current"},
                                      {"issued_at", "2026-01-02T03:04:05Z"},
                                      {"not_after", "2031-01-02T03:04:05Z"},
                                      {"md5", "0123"},
                                      {"revoked_at", nullptr}},
                                     {{"serial", "c1"},
                                      {"standing", "superseded"},
                                      {"issued_at", "2025-01-02T03:04:05Z"},
                                      {"not_after", "2030-01-02T03:04:05Z"},
                                      {"md5", "4567"},
                                      {"revoked_at", "2026-01-02T03:04:06Z"}}});
    CHECK(shown(*cli, result) ==
          "SERIAL  STANDING    ISSUED                NOT AFTER             MD5\n"
          "c2      current     2026-01-02T03:04:05Z  2031-01-02T03:04:05Z  0123\n"
          "c1      superseded  2025-01-02T03:04:05Z  2030-01-02T03:04:05Z  4567\n");
    CHECK(shown(*parsed({"cert", "list", "SEP1", "--json"}), json::array()) == "[]\n");
    CHECK_THROWS_AS(parsed({"cert", "list"}), CLI::RequiredError);
    CHECK_THROWS_AS(parsed({"cert"}), CLI::RequiredError);
}

TEST_CASE("ctl cli: cert revoke SERIAL prints revoked SERIAL") {
    const auto cli = parsed({"cert", "revoke", "0BADC0DE"});
    CHECK(cli->command.method == "cert.revoke");
    CHECK(cli->command.params == json{{"serial", "0BADC0DE"}});
    CHECK(shown(*cli, {{"serial", "0badc0de"}, {"revoked", true}}) == "revoked 0badc0de\n");
    CHECK_THROWS_AS(parsed({"cert", "revoke"}), CLI::RequiredError);
}

TEST_CASE("ctl cli: device add and update take --require-sudi true or false") {
    CHECK(params_of({"device", "add", "SEP1", "--require-sudi", "true"}) ==
          json{{"name", "SEP1"}, {"require_sudi", true}});
    CHECK(params_of({"device", "update", "SEP1", "--require-sudi", "false"}) ==
          json{{"name", "SEP1"}, {"require_sudi", false}});
    // Not given: not sent, so update keeps the device's setting.
    CHECK(params_of({"device", "update", "SEP1"}) == json{{"name", "SEP1"}});
    CHECK_THROWS_AS(parsed({"device", "add", "SEP1", "--require-sudi", "yes"}),
                    CLI::ValidationError);
}

TEST_CASE("ctl cli: auth-string unlock DEVICE prints unlocked DEVICE") {
    const auto cli = parsed({"auth-string", "unlock", "SEP001122334455"});
    CHECK(cli->command.method == "auth_string.unlock");
    CHECK(cli->command.params == json{{"device", "SEP001122334455"}});
    CHECK(shown(*cli, {{"unlocked", true}}) == "unlocked SEP001122334455\n");
    CHECK_THROWS_AS(parsed({"auth-string", "unlock"}), CLI::RequiredError);
}

}  // namespace ctl_cli_test_cases

namespace ctl_cli_test_cases {

namespace {

/// A file of its own in the temporary directory, removed at the end.
struct TempFile {
    explicit TempFile(const std::string& name, const std::string& bytes)
        : path(std::filesystem::temp_directory_path() /
               ("ctl_tvs_" + std::to_string(::getpid()) + "_" + name)) {
        std::ofstream(path, std::ios::binary) << bytes;
    }
    ~TempFile() { std::filesystem::remove(path); }
    std::filesystem::path path;
};

}  // namespace

TEST_CASE("ctl cli: tvs add sends a PEM file as text and a DER file as base64, with its roles") {
    const TempFile pem("cert.pem",
                       "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n");
    const TempFile der("cert.der", std::string("\x30\x82\x01\x00", 4));
    FakeCapfd capfd;
    capfd.answer = [](const std::string&, const json&) {
        return json{{"result", "added"},
                    {"subject", "CN=A"},
                    {"sha256", "ab"},
                    {"roles", {"ccm", "tftp"}},
                    {"ttl", "2h"},
                    {"expired", true},
                    {"not_after", "2020-01-01T00:00:00Z"}};
    };
    const auto cli = parsed({"tvs", "add", pem.path.string(), "--role", "CCM,tftp", "--ttl", "2h"});
    const json result = execute(cli->command, capfd.call());
    REQUIRE(capfd.calls.size() == 1);
    CHECK(capfd.calls[0].first == "tvs.add");
    CHECK(capfd.calls[0].second ==
          json{{"certificate", "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"},
               {"roles", {"CCM", "tftp"}},
               {"ttl", "2h"}});
    CHECK(shown(*cli, result) ==
          "added CN=A\nsha256 ab\nroles ccm,tftp, ttl 2h\nnote: it expired on "
          "2020-01-01T00:00:00Z\n");

    execute(parsed({"tvs", "add", der.path.string(), "--role", "tvs", "--role", "sast"})->command,
            capfd.call());
    CHECK(capfd.calls[1].second == json{{"certificate", "MIIBAA=="}, {"roles", {"tvs", "sast"}}});
    CHECK_THROWS_AS(parsed({"tvs", "add", pem.path.string()}), CLI::RequiredError);
    CHECK_THROWS_WITH(
        execute(parsed({"tvs", "add", "/nonexistent/x.pem", "--role", "tftp"})->command,
                capfd.call()),
        "cannot open /nonexistent/x.pem");
}

TEST_CASE("ctl cli: tvs list, remove and export name what they ask for") {
    CHECK(parsed({"tvs", "list"})->command.method == "tvs.list");
    CHECK(params_of({"tvs", "list"}) == json::object());
    CHECK(params_of({"tvs", "list", "--role", "APP-SERVER"}) == json{{"role", "APP-SERVER"}});
    CHECK(params_of({"tvs", "remove", "AB12"}) == json{{"hash_prefix", "AB12"}});
    CHECK(parsed({"tvs", "remove", "AB12"})->command.method == "tvs.remove");
    CHECK(params_of({"tvs", "export", "ab"}) == json{{"hash_prefix", "ab"}});
    CHECK(params_of({"tvs", "export-bundle", "--role", "tftp"}) == json{{"role", "tftp"}});
    CHECK_THROWS_AS(parsed({"tvs", "remove"}), CLI::RequiredError);

    const json listed = {{"certificates",
                          {{{"subject", "CN=A"},
                            {"roles", {"sast", "tftp"}},
                            {"ttl", "24h"},
                            {"not_after", "2030-01-01T00:00:00Z"},
                            {"expired", false},
                            {"automatic", true},
                            {"node", "node-a"},
                            {"sha256", "aa"}},
                           {{"subject", "CN=B"},
                            {"roles", {"app-server"}},
                            {"ttl", "1h"},
                            {"not_after", "2020-01-01T00:00:00Z"},
                            {"expired", true},
                            {"automatic", false},
                            {"node", nullptr},
                            {"sha256", "bb"}}}}};
    CHECK(shown(*parsed({"tvs", "list"}), listed) ==
          "SUBJECT  ROLES       TTL  EXPIRES               EXPIRED  SOURCE       SHA-256\n"
          "CN=A     sast,tftp   24h  2030-01-01T00:00:00Z  no       node node-a  aa\n"
          "CN=B     app-server  1h   2020-01-01T00:00:00Z  yes      operator     bb\n");

    const TempFile out("exported.pem", "");
    const auto cli = parsed({"tvs", "export", "bb", "-o", out.path.string()});
    CHECK(shown(*cli, {{"pem", "PEM TEXT\n"}}).empty());
    std::ifstream in(out.path);
    const std::string written((std::istreambuf_iterator<char>(in)),
                              std::istreambuf_iterator<char>());
    CHECK(written == "PEM TEXT\n");
    CHECK(shown(*parsed({"tvs", "export-bundle"}), {{"bundle", "# b\n"}}) == "# b\n");
}

TEST_CASE("ctl cli: tvs import-bundle merges its files into one bundle") {
    const TempFile a("a.pem", "# roles: tftp\nA");
    const TempFile b("b.pem", "B\n");
    FakeCapfd capfd;
    capfd.answer = [](const std::string&, const json&) {
        return json{{"added", 1}, {"updated", 1}, {"unchanged", 0}, {"kept_automatic", 0}};
    };
    const auto cli = parsed({"tvs", "import-bundle", a.path.string(), b.path.string(), "--role",
                             "app-server", "--ttl", "1h"});
    const json result = execute(cli->command, capfd.call());
    REQUIRE(capfd.calls.size() == 1);
    CHECK(capfd.calls[0].first == "tvs.import_bundle");
    CHECK(capfd.calls[0].second ==
          json{{"bundle", "# roles: tftp\nA\nB\n\n"}, {"roles", {"app-server"}}, {"ttl", "1h"}});
    CHECK(shown(*cli, result) == "added 1, updated 1, unchanged 0, capfd's own (kept) 0\n");
    execute(parsed({"tvs", "import-bundle", b.path.string()})->command, capfd.call());
    CHECK(capfd.calls[1].second == json{{"bundle", "B\n\n"}});
}

}  // namespace ctl_cli_test_cases
