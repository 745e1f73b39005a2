// The administrator's methods over a real database (the CTest PostgreSQL
// fixture), called as the admin socket calls them: through handle_line.
#include <botan/auto_rng.h>
#include <botan/base64.h>
#include <botan/data_src.h>
#include <botan/x509self.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <cctype>
#include <map>
#include <set>
#include <string>

#include "ca/certificate_facts.hpp"
#include "ca/fingerprint.hpp"
#include "capf/admin/jsonrpc.hpp"
#include "capf/admin/methods.hpp"
#include "capf/service/auth_string.hpp"
#include "capf/service/trust_loader.hpp"
#include "storage/trust_anchor_repository.hpp"
#include "tests/ca/ca_test_support.hpp"
#include "tests/storage/pg_test_support.hpp"
#include "tests/storage/repositories.hpp"

// The file's own namespace: the suite is compiled in unity batches, and its
// file-local names must not meet another file's.
namespace capf::admin_methods_test_cases {
namespace {

using jsonrpc::json;

/// The CAPF identity, which also issues LSCs; made once per test binary and
/// never destroyed (Botan's secure allocator may be gone before our statics).
const ca::Identity& capf_identity() {
    static const auto* id = new ca::Identity(test::make_ca("CAPF-admin-test"));
    return *id;
}

/// A manufacturing root to add as a trust anchor.
const ca::Identity& manufacturing_root() {
    static const auto* id = new ca::Identity(test::make_ca("Test Manufacturing Root"));
    return *id;
}

Config test_config() {
    Config c;
    c.node.name = "node-test";
    c.listen.address = "127.0.0.1";
    c.auth.hash_iterations = 1000;
    return c;
}

/// A fresh database, the admin methods over it, and calls through the
/// JSON-RPC layer.
class AdminMethods {
  public:
    AdminMethods() {
        reload_trust(trust_, config_, capf_identity(), anchors_);
        register_admin_methods(registry_, context_);
    }

    /// The whole response to one request.
    json call(const std::string& method, const json& params = json::object()) {
        return call_as(caller_, method, params);
    }
    /// The whole response to one request from `caller`.
    json call_as(const jsonrpc::Caller& caller, const std::string& method,
                 const json& params = json::object()) {
        const json request = {
            {"jsonrpc", "2.0"}, {"id", 1}, {"method", method}, {"params", params}};
        return json::parse(jsonrpc::handle_line(registry_, request.dump(), caller));
    }
    /// The result of a request that must succeed.
    json result(const std::string& method, const json& params = json::object()) {
        const json response = call(method, params);
        INFO(method << " " << params.dump() << " -> " << response.dump());
        REQUIRE(response.contains("result"));
        return response["result"];
    }
    /// The error of a request that must fail.
    json error(const std::string& method, const json& params = json::object()) {
        const json response = call(method, params);
        INFO(method << " " << params.dump() << " -> " << response.dump());
        REQUIRE(response.contains("error"));
        return response["error"];
    }

    test::Repositories& repo() { return repo_; }
    AdminContext& context() { return context_; }
    const jsonrpc::Registry& registry() const { return registry_; }

  private:
    test::TestDatabase db_;
    test::Repositories repo_{*db_.pool};
    storage::TrustAnchorRepository anchors_{*db_.pool};
    Config config_ = test_config();
    ca::TrustStore trust_;
    AdminContext context_{config_,         *db_.pool, anchors_, capf_identity(),
                          capf_identity(), trust_,    nullptr,  std::chrono::system_clock::now()};
    jsonrpc::Registry registry_;
    jsonrpc::Caller caller_{jsonrpc::Role::admin, "uid 0 (root) has the admin role (root)"};
};

constexpr int invalid_params = -32602;
constexpr int not_found = -32004;
constexpr int conflict = -32005;

/// "2026-11-24T19:33:00Z": digits where the pattern has 9, the rest as is.
/// (No std::regex: GCC 12 warns inside it under the sanitizers.)
bool is_iso8601(const json& value) {
    if (!value.is_string())
        return false;
    const std::string text = value.get<std::string>();
    const std::string_view pattern = "9999-99-99T99:99:99Z";
    if (text.size() != pattern.size())
        return false;
    for (std::size_t i = 0; i < text.size(); ++i) {
        const bool ok = pattern[i] == '9' ? std::isdigit(static_cast<unsigned char>(text[i])) != 0
                                          : text[i] == pattern[i];
        if (!ok)
            return false;
    }
    return true;
}

std::string message_of(const json& error) {
    return error["message"].get<std::string>();
}

}  // namespace

TEST_CASE("admin: device add, get, update and remove") {
    AdminMethods admin;
    json d = admin.result("device.add", {{"name", "sep001122334455"}, {"description", "lobby"}});
    CHECK(d["name"] == "SEP001122334455");
    CHECK(d["description"] == "lobby");
    CHECK(d["auth_mode"] == "auth-string");  // the configured default
    CHECK(d["key_spec"] == "rsa-2048");
    CHECK(d["pending_operation"] == "none");
    CHECK(d["lsc"].is_null());

    d = admin.result("device.get", {{"name", "SEP001122334455"}});
    CHECK(d["description"] == "lobby");
    CHECK(d["auth_string_pending"] == false);

    d = admin.result("device.update", {{"name", "SEP001122334455"}, {"key_spec", "ec-p256"}});
    CHECK(d["key_spec"] == "ec-p256");
    CHECK(d["description"] == "lobby");  // kept: not given
    CHECK(admin.result("device.get", {{"name", "SEP001122334455"}})["key_spec"] == "ec-p256");

    const json list = admin.result("device.list", {{"prefix", "SEP00"}});
    REQUIRE(list["devices"].size() == 1);
    CHECK(list["next_after"].is_null());

    CHECK(admin.result("device.remove", {{"name", "SEP001122334455"}}) == json{{"removed", true}});
    CHECK(admin.error("device.get", {{"name", "SEP001122334455"}})["code"] == not_found);
    CHECK(admin.error("device.update", {{"name", "SEP001122334455"}})["code"] == not_found);
}

TEST_CASE("admin: device.add_bulk adds new devices and refuses an unknown field") {
    AdminMethods admin;
    admin.result("device.add", {{"name", "SEPA00000000001"}});
    const json added = admin.result(
        "device.add_bulk",
        {{"devices",
          {{{"name", "SEPA00000000001"}}, {{"name", "SEPA00000000002"}, {"auth_mode", "lsc"}}}}});
    CHECK(added["added"] == 1);  // the existing name is kept
    CHECK(admin.result("device.get", {{"name", "SEPA00000000002"}})["auth_mode"] == "lsc");

    const json refused = admin.error(
        "device.add_bulk",
        {{"devices",
          {{{"name", "SEPA00000000003"}}, {{"name", "SEPA00000000004"}, {"colour", "red"}}}}});
    CHECK(refused["code"] == invalid_params);
    CHECK(message_of(refused) ==
          "unknown device field 'colour'; allowed: name, description, auth_mode, key_spec, "
          "require_sudi");
    // Nothing was added.
    CHECK(admin.error("device.get", {{"name", "SEPA00000000003"}})["code"] == not_found);
    CHECK(admin.error("device.add_bulk", {{"devices", json::array()}})["code"] == invalid_params);
}

TEST_CASE("admin: operation.schedule for one device by name, or in bulk by scope") {
    AdminMethods admin;
    for (const char* name : {"SEPA00000000001", "SEPA00000000002", "SEPB00000000001"})
        admin.result("device.add", {{"name", name}});

    CHECK(admin.result("operation.schedule", {{"name", "SEPB00000000001"},
                                              {"operation", "fetch"},
                                              {"deadline_hours", 24}})["scheduled"] == 1);
    const json b = admin.result("device.get", {{"name", "SEPB00000000001"}});
    CHECK(b["pending_operation"] == "fetch");
    CHECK(is_iso8601(b["deadline"]));

    // 'operation' is what to schedule here, not a filter on the devices'
    // pending operation (none of them has an install pending).
    CHECK(admin.result("operation.schedule",
                       {{"prefix", "SEPA"}, {"operation", "install"}})["scheduled"] == 2);
    CHECK(admin.result("device.get", {{"name", "SEPA00000000002"}})["pending_operation"] ==
          "install");
    // The device-level fetch is kept by a bulk install unless overridden.
    CHECK(admin.result("operation.schedule",
                       {{"all", true}, {"operation", "install"}})["scheduled"] == 2);
    CHECK(admin.result("device.get", {{"name", "SEPB00000000001"}})["pending_operation"] ==
          "fetch");
    CHECK(admin.result(
              "operation.schedule",
              {{"all", true}, {"operation", "install"}, {"override", true}})["scheduled"] == 3);
    // The filters still filter: only devices with a pending install.
    CHECK(admin.result("device.list", {{"operation", "install"}})["devices"].size() == 3);

    CHECK(message_of(admin.error(
              "operation.schedule",
              {{"name", "SEPA00000000001"}, {"all", true}, {"operation", "install"}})) ==
          "give either 'name' or a bulk scope ('all' or 'prefix'), not both");
    CHECK(admin.error("operation.schedule", {{"operation", "install"}})["code"] == invalid_params);

    CHECK(admin.result("operation.cancel", {{"name", "SEPA00000000001"}})["cancelled"] == true);
    CHECK(admin.result("device.get", {{"name", "SEPA00000000001"}})["pending_operation"] == "none");
}

TEST_CASE("admin: auth_string.generate returns the strings once and stores only their hashes") {
    AdminMethods admin;
    for (const char* name : {"SEPA00000000001", "SEPA00000000002", "SEPB00000000001"})
        admin.result("device.add", {{"name", name}});

    const json one = admin.result("auth_string.generate",
                                  {{"name", "sepa00000000001"}, {"value", "4815162342"}});
    REQUIRE(one["auth_strings"].size() == 1);
    CHECK(one["auth_strings"][0] ==
          json{{"name", "SEPA00000000001"}, {"auth_string", "4815162342"}});
    const auto stored = admin.repo().auth_strings.auth_string_hash("SEPA00000000001");
    REQUIRE(stored.has_value());
    CHECK(stored->find("4815162342") == std::string::npos);
    CHECK(check_auth_string("4815162342", *stored));
    // Never shown again: the device and the pending list say only that one is set.
    const json device = admin.result("device.get", {{"name", "SEPA00000000001"}});
    CHECK(device["auth_string_pending"] == true);
    CHECK(device.dump().find("4815162342") == std::string::npos);
    const json pending = admin.result("auth_string.pending");
    CHECK(pending == json{{"devices", {"SEPA00000000001"}}});

    const json bulk = admin.result("auth_string.generate", {{"prefix", "SEPA"}, {"digits", 8}});
    REQUIRE(bulk["auth_strings"].size() == 2);
    for (const auto& entry : bulk["auth_strings"]) {
        const std::string secret = entry["auth_string"].get<std::string>();
        CHECK(secret.size() == 8);
        const auto hash =
            admin.repo().auth_strings.auth_string_hash(entry["name"].get<std::string>());
        REQUIRE(hash.has_value());
        CHECK(*hash != secret);
        CHECK(check_auth_string(secret, *hash));
    }
    CHECK_FALSE(admin.repo().auth_strings.auth_string_hash("SEPB00000000001").has_value());

    CHECK(admin.error("auth_string.generate", {{"prefix", "SEPA"}, {"value", "1234"}})["code"] ==
          invalid_params);
    CHECK(admin.error("auth_string.generate", {{"prefix", "SEPZ"}})["code"] == not_found);
    CHECK(admin.result("auth_string.delete", {{"name", "SEPA00000000001"}})["deleted"] == true);
    CHECK(admin.result("auth_string.pending") == json{{"devices", {"SEPA00000000002"}}});
}

TEST_CASE("admin: trust anchors are added, listed with their role, and removed") {
    AdminMethods admin;
    // Without a role: every role, each anchor naming its own; the issuer is there.
    json all = admin.result("trust.list")["anchors"];
    REQUIRE(all.size() == 1);
    CHECK(all[0]["role"] == "lsc-issuer");
    CHECK(all[0]["source"] == "issuer");
    CHECK(all[0]["subject"].get<std::string>().find("CAPF-admin-test") != std::string::npos);
    CHECK(is_iso8601(all[0]["not_after"]));
    const std::string issuer_sha = all[0]["sha256"].get<std::string>();

    // The issuer may be stored as an anchor of its own (before rotating the
    // CAPF identity, so that its LSCs keep authenticating): it is still one
    // anchor, and storing it twice is the conflict.
    const json pinned = admin.result(
        "trust.add", {{"role", "lsc-issuer"}, {"pem", capf_identity().certificate().PEM_encode()}});
    CHECK(pinned["sha256"] == issuer_sha);
    CHECK(admin.result("trust.list", {{"role", "lsc-issuer"}})["anchors"].size() == 1);
    CHECK(admin.error("trust.add", {{"role", "lsc-issuer"},
                                    {"pem", capf_identity().certificate().PEM_encode()}})["code"] ==
          conflict);
    admin.result("trust.remove", {{"role", "lsc-issuer"}, {"sha256", issuer_sha}});

    const json added = admin.result(
        "trust.add",
        {{"role", "mic-root"}, {"pem", manufacturing_root().certificate().PEM_encode()}});
    CHECK(added["added"] == true);
    CHECK(added["role"] == "mic-root");
    CHECK(is_iso8601(added["not_after"]));
    const std::string root_sha = added["sha256"].get<std::string>();
    CHECK(admin.error("trust.add",
                      {{"role", "mic-root"},
                       {"pem", manufacturing_root().certificate().PEM_encode()}})["code"] ==
          conflict);

    all = admin.result("trust.list")["anchors"];
    REQUIRE(all.size() == 2);
    for (const auto& a : all) {
        REQUIRE(a.contains("role"));
        CHECK(is_iso8601(a["not_after"]));
    }
    const json mic = admin.result("trust.list", {{"role", "mic-root"}})["anchors"];
    REQUIRE(mic.size() == 1);
    CHECK(mic[0]["role"] == "mic-root");
    CHECK(mic[0]["sha256"] == root_sha);
    CHECK(mic[0]["source"] == "admin");
    CHECK(message_of(admin.error("trust.list", {{"role", "roots"}})) ==
          "role must be one of lsc-issuer, mic-root, sudi-root, intermediate, not 'roots'");

    CHECK(admin.error("trust.remove", {{"role", "lsc-issuer"}, {"sha256", issuer_sha}})["code"] ==
          conflict);
    CHECK(admin.result("trust.remove", {{"role", "mic-root"}, {"sha256", root_sha}})["removed"] ==
          true);
    CHECK(admin.result("trust.list", {{"role", "mic-root"}})["anchors"].empty());
    CHECK(admin.error("trust.remove", {{"role", "mic-root"}, {"sha256", root_sha}})["code"] ==
          not_found);
}

TEST_CASE("admin: server.summary and the other times are ISO 8601 UTC") {
    AdminMethods admin;
    const json summary = admin.result("server.summary");
    CHECK(is_iso8601(summary["issuer_expires"]));
    CHECK(summary["node"] == "node-test");
    CHECK(summary["listen"] == "127.0.0.1:3804");
    admin.result("device.add", {{"name", "SEP001122334455"}});
    const json events = admin.result("audit.query", {{"limit", 5}})["events"];
    for (const auto& e : events)
        CHECK(is_iso8601(e["at"]));
    CHECK(admin.result("server.stats")["devices"]["total"] == 1);
    CHECK(admin.result("server.version")["node"] == "node-test");
}

TEST_CASE("admin: storage errors become JSON-RPC errors with their message") {
    AdminMethods admin;
    admin.result("device.add", {{"name", "SEP001122334455"}});
    // not_found
    json e = admin.error("device.remove", {{"name", "SEP665544332211"}});
    CHECK(e["code"] == not_found);
    CHECK(admin.error("operation.cancel", {{"name", "SEP665544332211"}})["code"] == not_found);
    CHECK(admin.error("operation.schedule", {{"name", "SEP665544332211"},
                                             {"operation", "install"}})["code"] == not_found);
    // invalid_value and invalid_device_name
    e = admin.error("device.add", {{"name", "SEP665544332211"}, {"auth_mode", "telepathy"}});
    CHECK(e["code"] == invalid_params);
    CHECK_THAT(message_of(e), Catch::Contains("telepathy"));
    CHECK(admin.error("device.add", {{"name", "no spaces please"}})["code"] == invalid_params);
    CHECK(admin.error("operation.schedule", {{"all", true}, {"operation", "explode"}})["code"] ==
          invalid_params);
    CHECK(admin.error("device.list", {{"status", "sleepy"}})["code"] == invalid_params);
    // already_exists
    CHECK(admin.error("device.add", {{"name", "SEP001122334455"}})["code"] == conflict);
}

TEST_CASE("admin: an unknown parameter is refused, naming the allowed ones") {
    AdminMethods admin;
    json e = admin.error("device.get", {{"name", "SEP001122334455"}, {"nmae", "x"}});
    CHECK(e["code"] == invalid_params);
    CHECK(message_of(e) == "unknown parameter 'nmae' for device.get; allowed: name");
    e = admin.error("server.summary", {{"verbose", true}});
    CHECK(message_of(e) == "unknown parameter 'verbose' for server.summary; allowed: none");
    e = admin.error("report", {{"expiring", 30}});
    CHECK(message_of(e) ==
          "unknown parameter 'expiring' for report; allowed: prefix, operation, status, "
          "expiring_days");
    // Nothing ran: the device named in the refused add was not added.
    CHECK(admin.error("device.add", {{"name", "SEP001122334455"}, {"colour", "red"}})["code"] ==
          invalid_params);
    CHECK(admin.error("device.get", {{"name", "SEP001122334455"}})["code"] == not_found);
}

TEST_CASE("admin: every change is audited with the caller as its actor") {
    AdminMethods admin;
    const jsonrpc::CallerScope caller("uid 1000 pid 4242");
    admin.result("device.add", {{"name", "SEP001122334455"}});
    admin.result("device.add_bulk", {{"devices", {{{"name", "SEP001122334456"}}}}});
    admin.result("device.update", {{"name", "SEP001122334455"}, {"description", "lobby"}});
    admin.result("operation.schedule", {{"name", "SEP001122334455"}, {"operation", "install"}});
    admin.result("operation.schedule", {{"prefix", "SEP001122334456"}, {"operation", "fetch"}});
    admin.result("operation.cancel", {{"name", "SEP001122334455"}});
    admin.result("auth_string.generate", {{"name", "SEP001122334455"}, {"value", "4815162342"}});
    admin.result("auth_string.delete", {{"name", "SEP001122334455"}});
    const std::string root_sha =
        admin
            .result("trust.add",
                    {{"role", "mic-root"},
                     {"pem", manufacturing_root().certificate().PEM_encode()}})["sha256"]
            .get<std::string>();
    admin.result("trust.remove", {{"role", "mic-root"}, {"sha256", root_sha}});
    admin.result("device.remove", {{"name", "SEP001122334456"}});
    // A refused change records nothing.
    admin.error("device.remove", {{"name", "SEP001122334456"}});

    std::multiset<std::string> seen;
    const json events = admin.result("audit.query", {{"limit", 100}})["events"];
    for (const auto& e : events) {
        INFO(e.dump());
        CHECK(e["peer"] == "uid 1000 pid 4242");
        CHECK(e.dump().find("4815162342") == std::string::npos);
        seen.insert(e["event"].get<std::string>() + "/" + e["outcome"].get<std::string>());
    }
    CHECK(seen == std::multiset<std::string>{"device/added", "device/added", "device/updated",
                                             "schedule/install", "schedule/fetch",
                                             "schedule/cancelled", "auth_string/set",
                                             "auth_string/deleted", "trust_anchor/added",
                                             "trust_anchor/removed", "device/removed"});
}

namespace {

/// An install of `serial` the phone confirmed (`confirm`) or never answered.
void issue(test::Repositories& repo, const std::string& device, const std::string& serial,
           bool confirm) {
    using namespace std::chrono_literals;
    repo.schedule.schedule_operation(
        device, storage::ScheduleRequest{storage::Operation::install, {}, {}, {}},
        test::admin_actor);
    const auto claim = *repo.claims.claim_pending_operation(device, "node-test", 60s);
    const auto now = std::chrono::system_clock::now();
    const storage::IssuedCertificateRecord cert{
        serial,          storage::Bytes{0x30, 0x01}, now,
        now + 24h * 365, storage::Bytes{0x30},       std::string(32, 'e')};
    repo.outcomes.record_certificate_issued(claim, cert, "10.0.0.1");
    if (confirm)
        repo.outcomes.record_store_confirmed(claim, cert, "10.0.0.1");
    else
        repo.schedule.cancel_operation(device, test::admin_actor);
}

}  // namespace

TEST_CASE("admin: cert.list shows each certificate's standing, cert.revoke revokes one") {
    AdminMethods admin;
    admin.result("device.add", {{"name", "SEP001122334455"}});
    issue(admin.repo(), "SEP001122334455", "c1", true);
    issue(admin.repo(), "SEP001122334455", "c2", true);
    issue(admin.repo(), "SEP001122334455", "c3", false);

    json listed = admin.result("cert.list", {{"device", "sep001122334455"}});
    REQUIRE(listed.is_array());
    REQUIRE(listed.size() == 3);
    CHECK(listed[0]["serial"] == "c3");
    CHECK(listed[0]["standing"] == "unknown-outcome");
    CHECK(listed[0]["confirmed"] == false);
    CHECK(listed[0]["revoked_at"].is_null());
    CHECK(listed[0]["revoked_reason"].is_null());
    CHECK(listed[1]["serial"] == "c2");
    CHECK(listed[1]["standing"] == "current");
    CHECK(listed[2]["standing"] == "superseded");
    CHECK(listed[2]["revoked_reason"] == "superseded");
    CHECK(is_iso8601(listed[2]["revoked_at"]));
    for (const char* key : {"not_before", "not_after", "issued_at"})
        CHECK(is_iso8601(listed[1][key]));
    CHECK(listed[1]["md5"] == std::string(32, 'e'));
    CHECK(listed[1]["node"] == "node-test");

    const jsonrpc::CallerScope caller("uid 1000 pid 77");
    CHECK(admin.result("cert.revoke", {{"serial", "C2"}}) ==
          json{{"serial", "c2"}, {"revoked", true}});
    listed = admin.result("cert.list", {{"device", "SEP001122334455"}});
    CHECK(listed[1]["standing"] == "revoked");
    CHECK(listed[1]["revoked_reason"] == "revoked");
    const json events = admin.result("audit.query", {{"device", "SEP001122334455"}, {"limit", 1}});
    CHECK(events["events"][0]["event"] == "certificate");
    CHECK(events["events"][0]["outcome"] == "revoked");
    CHECK(events["events"][0]["peer"] == "uid 1000 pid 77");

    json e = admin.error("cert.revoke", {{"serial", "c2"}});
    CHECK(e["code"] == invalid_params);
    CHECK_THAT(message_of(e), Catch::Contains("already revoked"));
    CHECK(admin.error("cert.revoke", {{"serial", "ffff"}})["code"] == not_found);
    CHECK(admin.error("cert.revoke", {{"serial", "not hex"}})["code"] == invalid_params);
    CHECK(admin.error("cert.list", {{"device", "SEP665544332211"}})["code"] == not_found);
    CHECK(admin.error("cert.list", json::object())["code"] == invalid_params);
}

TEST_CASE(
    "admin: require_sudi is set by device.add, add_bulk and update, and kept when not given") {
    AdminMethods admin;
    json d = admin.result("device.add", {{"name", "SEP001122334455"}, {"require_sudi", true}});
    CHECK(d["require_sudi"] == true);
    d = admin.result("device.update", {{"name", "SEP001122334455"}, {"description", "lobby"}});
    CHECK(d["require_sudi"] == true);  // kept
    d = admin.result("device.update", {{"name", "SEP001122334455"}, {"require_sudi", false}});
    CHECK(d["require_sudi"] == false);
    CHECK(admin.result("device.get", {{"name", "SEP001122334455"}})["require_sudi"] == false);
    admin.result(
        "device.add_bulk",
        {{"devices",
          {{{"name", "SEP0000000000B1"}, {"require_sudi", true}}, {{"name", "SEP0000000000B2"}}}}});
    const json page = admin.result("device.list", {{"prefix", "SEP0000000000B"}});
    REQUIRE(page["devices"].size() == 2);
    CHECK(page["devices"][0]["require_sudi"] == true);
    CHECK(page["devices"][1]["require_sudi"] == false);
    CHECK(admin.error("device.add", {{"name", "SEP0000000000C1"},
                                     {"require_sudi", "yes"}})["code"] == invalid_params);
    CHECK(admin.error("device.get", {{"name", "SEP0000000000C1"}})["code"] == not_found);
}

TEST_CASE("admin: auth_string.unlock ends a lockout and keeps the string") {
    AdminMethods admin;
    admin.result("device.add", {{"name", "SEP001122334455"}});
    admin.result("auth_string.generate", {{"name", "SEP001122334455"}, {"value", "123456"}});
    for (int i = 0; i < 3; ++i)
        admin.repo().auth_strings.begin_auth_string_attempt("SEP001122334455", 3);
    REQUIRE(admin.result("device.get", {{"name", "SEP001122334455"}})["auth_locked"] == true);
    CHECK(admin.result("auth_string.unlock", {{"device", "SEP001122334455"}}) ==
          json{{"unlocked", true}});
    const json d = admin.result("device.get", {{"name", "SEP001122334455"}});
    CHECK(d["auth_locked"] == false);
    CHECK(d["failed_auth_count"] == 0);
    CHECK(d["auth_string_pending"] == true);
    CHECK(admin.error("auth_string.unlock", {{"device", "SEP665544332211"}})["code"] == not_found);
}

namespace {

/// A self-signed certificate valid from `start` to `end` (P-256: quick).
Botan::X509_Certificate tvs_certificate(const std::string& cn,
                                        std::chrono::system_clock::time_point start,
                                        std::chrono::system_clock::time_point end) {
    Botan::X509_Cert_Options opts(cn + "/US/Example Hospital/Telecom");
    opts.start = Botan::X509_Time(start);
    opts.end = Botan::X509_Time(end);
    Botan::AutoSeeded_RNG rng;
    return Botan::X509::create_self_signed_cert(
        opts, test::phone_key({ca::KeySpec::Algorithm::ec, 256}), "SHA-256", rng);
}

Botan::X509_Certificate current_certificate(const std::string& cn) {
    const auto now = std::chrono::system_clock::now();
    return tvs_certificate(cn, now - std::chrono::hours(1), now + std::chrono::hours(24 * 30));
}

std::string der_base64(const Botan::X509_Certificate& cert) {
    return Botan::base64_encode(cert.BER_encode());
}

/// A row whose hash starts with `hash_start`, put in the store directly so
/// that two hashes share a prefix (the store does not check the DER).
storage::TrustedCertificate crafted(const std::string& hash_start) {
    const auto der = current_certificate("Crafted " + hash_start).BER_encode();
    storage::TrustedCertificate c;
    c.sha256_hex = hash_start + std::string(64 - hash_start.size(), '0');
    c.der.assign(der.begin(), der.end());
    c.subject = "CN=Crafted " + hash_start;
    c.issuer = c.subject;
    c.serial_hex = "01";
    c.roles = {3};
    c.ttl = std::chrono::hours(1);
    c.not_after = std::chrono::system_clock::now() + std::chrono::hours(24);
    return c;
}

}  // namespace

TEST_CASE("admin: tvs.add trusts a certificate with its roles and TTL, tvs.list shows it") {
    AdminMethods admin;
    const jsonrpc::CallerScope caller("uid 1000 pid 4242");
    int refreshed = 0;
    admin.context().on_trusted_certificates_changed = [&refreshed] { ++refreshed; };
    const auto cert = current_certificate("TVS App");
    const std::string sha = ca::sha256_hex(cert.BER_encode());
    json added = admin.result(
        "tvs.add",
        {{"certificate", cert.PEM_encode()}, {"roles", {"CCM", "APP-SERVER"}}, {"ttl", "2h"}});
    CHECK(added["result"] == "added");
    CHECK(added["sha256"] == sha);
    CHECK(added["roles"] == json({"ccm", "app-server"}));
    CHECK(added["ttl"] == "2h");
    CHECK(added["ttl_seconds"] == 7200);
    CHECK(added["expired"] == false);
    CHECK(added["subject"].get<std::string>().find("CN=TVS App") != std::string::npos);
    CHECK(refreshed == 1);

    // The same certificate as DER: its roles and TTL are replaced (the
    // default TTL when none is given).
    added = admin.result("tvs.add", {{"certificate", der_base64(cert)}, {"roles", {"tftp"}}});
    CHECK(added["result"] == "updated");
    CHECK(added["ttl"] == "24h");
    CHECK(refreshed == 2);
    CHECK(admin.result("tvs.add", {{"certificate", der_base64(cert)},
                                   {"roles", {"tftp"}}})["result"] == "unchanged");
    CHECK(refreshed == 2);  // nothing changed: nothing to refresh
    admin.context().tvs_default_ttl = std::chrono::minutes(30);
    admin.result("tvs.add", {{"certificate", current_certificate("TVS Other").PEM_encode()},
                             {"roles", {"tvs"}}});

    const json all = admin.result("tvs.list")["certificates"];
    REQUIRE(all.size() == 2);
    CHECK(all[0]["sha256"] == sha);
    CHECK(all[0]["roles"] == json({"tftp"}));
    CHECK(all[0]["ttl_seconds"] == 86400);
    CHECK(all[0]["automatic"] == false);
    CHECK(all[0]["node"].is_null());
    CHECK(all[0]["added_by"] == "uid 1000 pid 4242");
    CHECK(is_iso8601(all[0]["added_at"]));
    CHECK(is_iso8601(all[0]["not_after"]));
    CHECK(all[1]["ttl"] == "30m");
    CHECK(admin.result("tvs.list", {{"role", "TFTP"}})["certificates"].size() == 1);
    CHECK(admin.result("tvs.list", {{"role", "sast"}})["certificates"].empty());

    const auto events = admin.repo().audit.audit_events(storage::AuditQuery{"", std::nullopt, 10});
    REQUIRE(events.size() == 3);
    CHECK(events[2].event == "tvs_certificate");
    CHECK(events[2].outcome == "added");
    CHECK(events[2].peer == "uid 1000 pid 4242");
}

TEST_CASE("admin: tvs.add refuses bad roles, TTLs and certificates, naming what is allowed") {
    AdminMethods admin;
    const std::string pem = current_certificate("TVS Refused").PEM_encode();
    const std::vector<std::pair<json, std::string>> cases = {
        {{{"certificate", pem}, {"roles", {"tftp", "manager"}}},
         "unknown role 'manager'; role must be one of sast, ccm, ccm-tftp, tftp, capf, "
         "app-server, tvs"},
        {{{"certificate", pem}},
         "'roles' is required: a list of sast, ccm, ccm-tftp, tftp, "
         "capf, app-server, tvs"},
        {{{"certificate", pem}, {"roles", json::array()}},
         "'roles' must be a list of one or more of sast, ccm, ccm-tftp, tftp, capf, app-server, "
         "tvs"},
        {{{"certificate", pem}, {"roles", "tftp"}}, "'roles' must be a list of one or more"},
        {{{"certificate", pem}, {"roles", {"tftp"}}, {"ttl", "0s"}},
         "'ttl' 0s is out of range; allowed 1s to 365d"},
        {{{"certificate", pem}, {"roles", {"tftp"}}, {"ttl", "366d"}},
         "'ttl' 366d is out of range; allowed 1s to 365d"},
        {{{"certificate", pem}, {"roles", {"tftp"}}, {"ttl", "1500ms"}},
         "'ttl' must be whole seconds or a duration"},
        {{{"certificate", pem}, {"roles", {"tftp"}}, {"ttl", "soon"}},
         "'ttl' must be whole seconds or a duration"},
        {{{"certificate", "not base64!"}, {"roles", {"tftp"}}},
         "'certificate' must be PEM text or the DER as base64; this is neither"},
        {{{"certificate", "AAAA"}, {"roles", {"tftp"}}}, "not a PEM or DER X.509 certificate"},
        {{{"certificate", pem + pem}, {"roles", {"tftp"}}},
         "the PEM text holds 2 certificates; give one, or import it as a bundle"},
    };
    for (const auto& [params, expected] : cases) {
        const json e = admin.error("tvs.add", params);
        CHECK(e["code"] == invalid_params);
        CHECK_THAT(message_of(e), Catch::StartsWith(expected));
    }
    CHECK(admin.result("tvs.list")["certificates"].empty());
    CHECK(message_of(admin.error("tvs.list", {{"role", "roots"}})) ==
          "unknown role 'roots'; role must be one of sast, ccm, ccm-tftp, tftp, capf, "
          "app-server, tvs");
}

TEST_CASE("admin: an expired certificate may be added, and the listing says it expired") {
    AdminMethods admin;
    const auto now = std::chrono::system_clock::now();
    const auto old = tvs_certificate("TVS Expired", now - std::chrono::hours(24 * 60),
                                     now - std::chrono::hours(24));
    CHECK(admin.result("tvs.add", {{"certificate", old.PEM_encode()},
                                   {"roles", {"tftp"}}})["expired"] == true);
    const json listed = admin.result("tvs.list")["certificates"];
    REQUIRE(listed.size() == 1);
    CHECK(listed[0]["expired"] == true);
}

TEST_CASE("admin: tvs.remove and tvs.export take a hash prefix that matches one certificate") {
    AdminMethods admin;
    int refreshed = 0;
    admin.context().on_trusted_certificates_changed = [&refreshed] { ++refreshed; };
    auto& store = admin.context().trusted_certificates;
    store.add(crafted("abc1"), "test");
    store.add(crafted("abc2"), "test");

    json e = admin.error("tvs.remove", {{"hash_prefix", "ABC"}});
    CHECK(e["code"] == invalid_params);
    CHECK(message_of(e) ==
          "hash prefix 'ABC' matches 2 certificates: abc1000000000000 CN=Crafted abc1; "
          "abc2000000000000 CN=Crafted abc2; give more digits");
    CHECK(admin.error("tvs.export", {{"hash_prefix", "abc"}})["code"] == invalid_params);
    e = admin.error("tvs.remove", {{"hash_prefix", "ffff"}});
    CHECK(e["code"] == not_found);
    CHECK(message_of(e) == "no trusted certificate's SHA-256 starts with 'ffff'");
    CHECK(admin.error("tvs.remove", {{"hash_prefix", "xyz"}})["code"] == invalid_params);
    CHECK(store.list().size() == 2);
    CHECK(refreshed == 0);

    const json exported = admin.result("tvs.export", {{"hash_prefix", "abc2"}});
    CHECK(exported["sha256"] == crafted("abc2").sha256_hex);
    Botan::DataSource_Memory pem(exported["pem"].get<std::string>());
    CHECK(Botan::X509_Certificate(pem).subject_dn().get_first_attribute("CN") == "Crafted abc2");

    const json removed = admin.result("tvs.remove", {{"hash_prefix", "abc1"}});
    CHECK(removed["removed"] == true);
    CHECK(removed["sha256"] == crafted("abc1").sha256_hex);
    CHECK(refreshed == 1);
    REQUIRE(store.list().size() == 1);
    CHECK(store.list()[0].subject == "CN=Crafted abc2");
}

TEST_CASE("admin: capfd's own TVS certificates cannot be removed or changed by an operator") {
    AdminMethods admin;
    const auto own = current_certificate("CAPF-node-test");
    const auto facts = ca::certificate_facts(own.BER_encode());
    storage::TrustedCertificate c = crafted("00");
    c.sha256_hex = facts.sha256_hex;
    c.der = facts.der;
    c.subject = facts.subject;
    c.roles = {4};
    admin.context().trusted_certificates.replace_automatic("node-test", {c});

    const json listed = admin.result("tvs.list")["certificates"];
    REQUIRE(listed.size() == 1);
    CHECK(listed[0]["automatic"] == true);
    CHECK(listed[0]["node"] == "node-test");
    json e = admin.error("tvs.remove", {{"hash_prefix", facts.sha256_hex.substr(0, 8)}});
    CHECK(e["code"] == conflict);
    CHECK_THAT(message_of(e), Catch::Contains("is capfd's own (node node-test) and cannot be "
                                              "removed"));
    e = admin.error("tvs.add", {{"certificate", own.PEM_encode()}, {"roles", {"tftp"}}});
    CHECK(e["code"] == conflict);
    CHECK_THAT(message_of(e), Catch::Contains("is capfd's own (node node-test)"));
    CHECK(admin.result("tvs.list")["certificates"][0]["roles"] == json({"capf"}));
}

TEST_CASE("admin: tvs.export_bundle and tvs.import_bundle carry roles and TTL to another store") {
    AdminMethods from;
    const auto tftp = current_certificate("New Cluster TFTP");
    const auto tvs = current_certificate("New Cluster TVS");
    from.result("tvs.add",
                {{"certificate", tftp.PEM_encode()}, {"roles", {"sast", "tftp"}}, {"ttl", "2h"}});
    from.result("tvs.add", {{"certificate", der_base64(tvs)}, {"roles", {"tvs"}}});
    const json bundle = from.result("tvs.export_bundle");
    CHECK(bundle["count"] == 2);
    CHECK(bundle["bundle"].get<std::string>().find("# roles: sast, tftp\n# ttl: 7200\n") !=
          std::string::npos);
    CHECK(from.result("tvs.export_bundle", {{"role", "tvs"}})["count"] == 1);

    AdminMethods to;
    int refreshed = 0;
    to.context().on_trusted_certificates_changed = [&refreshed] { ++refreshed; };
    json imported = to.result("tvs.import_bundle", {{"bundle", bundle["bundle"]}});
    CHECK(imported["added"] == 2);
    CHECK(imported["updated"] == 0);
    CHECK(imported["certificates"].size() == 2);
    CHECK(refreshed == 1);
    // The same certificates, roles and TTLs; when they were added differs
    // (and so, perhaps, the order).
    const auto comparable = [](json list) {
        for (auto& c : list)
            c.erase("added_at");
        std::sort(list.begin(), list.end(),
                  [](const json& a, const json& b) { return a["sha256"] < b["sha256"]; });
        return list;
    };
    CHECK(comparable(to.result("tvs.list")["certificates"]) ==
          comparable(from.result("tvs.list")["certificates"]));
    imported = to.result("tvs.import_bundle", {{"bundle", bundle["bundle"]}});
    CHECK(imported["unchanged"] == 2);
    CHECK(refreshed == 1);

    // A plain bundle: roles and TTL from the parameters; the commented
    // block keeps its own.
    const auto app = current_certificate("App Server");
    const std::string plain = app.PEM_encode() + bundle["bundle"].get<std::string>();
    json e = to.error("tvs.import_bundle", {{"bundle", plain}});
    CHECK(e["code"] == invalid_params);
    CHECK_THAT(message_of(e), Catch::StartsWith("bundle: the certificate at line 1 ("));
    CHECK_THAT(message_of(e), Catch::EndsWith("has no roles comment; give 'roles' for such "
                                              "certificates"));
    imported = to.result("tvs.import_bundle",
                         {{"bundle", plain}, {"roles", {"app-server"}}, {"ttl", "1h"}});
    CHECK(imported["added"] == 1);
    CHECK(imported["unchanged"] == 2);
    const json app_row = to.result("tvs.list", {{"role", "app-server"}})["certificates"];
    REQUIRE(app_row.size() == 1);
    CHECK(app_row[0]["ttl"] == "1h");
    CHECK(to.result("tvs.list", {{"role", "tftp"}})["certificates"][0]["ttl"] == "2h");

    e = to.error("tvs.import_bundle", {{"bundle", "-----BEGIN PRIVATE KEY-----\nAA==\n"}});
    CHECK(message_of(e) ==
          "bundle: line 1: a PEM block of PRIVATE KEY, not a certificate (a "
          "bundle holds certificates only)");
}

TEST_CASE("admin: every method is listed with its summary") {
    AdminMethods admin;
    const json methods = admin.result("methods");
    for (const char* name : {"server.version",
                             "methods",
                             "server.summary",
                             "server.stats",
                             "device.add",
                             "device.add_bulk",
                             "device.update",
                             "device.remove",
                             "device.get",
                             "device.list",
                             "operation.schedule",
                             "operation.cancel",
                             "auth_string.generate",
                             "auth_string.delete",
                             "auth_string.pending",
                             "auth_string.unlock",
                             "cert.list",
                             "cert.revoke",
                             "trust.list",
                             "trust.add",
                             "trust.remove",
                             "capf.certificate",
                             "tftp.encrypt",
                             "tftp.status",
                             "tftp.hashes",
                             "tftp.itl",
                             "tftp.failures",
                             "itl.rollback",
                             "ctl.publish",
                             "ctl.show",
                             "tvs.add",
                             "tvs.list",
                             "tvs.remove",
                             "tvs.export",
                             "tvs.export_bundle",
                             "tvs.import_bundle",
                             "report",
                             "audit.query"}) {
        INFO(name);
        CHECK(methods.contains(name));
    }
    CHECK(methods.size() == 38);
    CHECK(admin.result("capf.certificate")["pem"].get<std::string>().find("BEGIN CERTIFICATE") !=
          std::string::npos);
}

/// Every admin method and the role it needs. A method registered without an
/// entry here fails the test below: decide its role (read_only only when it
/// changes nothing, starts no work, signs nothing and reveals no secret) and
/// add it.
const std::map<std::string, jsonrpc::Role> method_roles = {
    {"server.version", jsonrpc::Role::read_only},
    {"methods", jsonrpc::Role::read_only},
    {"server.summary", jsonrpc::Role::read_only},
    {"server.stats", jsonrpc::Role::read_only},
    {"device.get", jsonrpc::Role::read_only},
    {"device.list", jsonrpc::Role::read_only},
    {"auth_string.pending", jsonrpc::Role::read_only},
    {"cert.list", jsonrpc::Role::read_only},
    {"trust.list", jsonrpc::Role::read_only},
    {"capf.certificate", jsonrpc::Role::read_only},
    {"tftp.status", jsonrpc::Role::read_only},
    {"tftp.hashes", jsonrpc::Role::read_only},
    {"tftp.failures", jsonrpc::Role::read_only},
    {"ctl.show", jsonrpc::Role::read_only},
    {"report", jsonrpc::Role::read_only},
    {"audit.query", jsonrpc::Role::read_only},
    {"device.add", jsonrpc::Role::admin},
    {"device.add_bulk", jsonrpc::Role::admin},
    {"device.update", jsonrpc::Role::admin},
    {"device.remove", jsonrpc::Role::admin},
    {"operation.schedule", jsonrpc::Role::admin},
    {"operation.cancel", jsonrpc::Role::admin},
    {"auth_string.generate", jsonrpc::Role::admin},
    {"auth_string.delete", jsonrpc::Role::admin},
    {"auth_string.unlock", jsonrpc::Role::admin},
    {"cert.revoke", jsonrpc::Role::admin},
    {"trust.add", jsonrpc::Role::admin},
    {"trust.remove", jsonrpc::Role::admin},
    {"tftp.encrypt", jsonrpc::Role::admin},
    {"tftp.itl", jsonrpc::Role::admin},
    {"itl.rollback", jsonrpc::Role::admin},
    {"ctl.publish", jsonrpc::Role::admin},
    {"tvs.list", jsonrpc::Role::read_only},
    {"tvs.export", jsonrpc::Role::read_only},
    {"tvs.export_bundle", jsonrpc::Role::read_only},
    {"tvs.add", jsonrpc::Role::admin},
    {"tvs.remove", jsonrpc::Role::admin},
    {"tvs.import_bundle", jsonrpc::Role::admin},
};

TEST_CASE("admin: itl.rollback is stored for the cluster, audited, and shown by server.stats") {
    AdminMethods admin;
    CHECK(admin.result("server.stats")["itl_rollback"] == false);
    CHECK(admin.error("itl.rollback")["code"] == -32602);
    CHECK(admin.error("itl.rollback", {{"on", "yes"}})["code"] == -32602);
    const json on = admin.result("itl.rollback", {{"on", true}});
    CHECK(on["itl_rollback"] == true);
    CHECK(on["changed"] == true);
    CHECK(admin.result("itl.rollback", {{"on", true}})["changed"] == false);
    CHECK(admin.result("server.stats")["itl_rollback"] == true);
    const auto events = admin.repo().audit.audit_events({});
    const auto audited = std::count_if(events.begin(), events.end(), [](const auto& e) {
        return e.event == "cluster_setting" && e.detail == "itl_rollback unset -> true";
    });
    CHECK(audited == 1);
    CHECK(admin.result("itl.rollback", {{"on", false}})["itl_rollback"] == false);
    CHECK(admin.result("server.stats")["itl_rollback"] == false);
    // Without a TFTP side there is no CTL to publish or show.
    CHECK_THAT(admin.error("ctl.show")["message"].get<std::string>(),
               Catch::Contains("the TFTP side is off"));
    CHECK_THAT(admin.error("ctl.publish")["message"].get<std::string>(),
               Catch::Contains("the TFTP side is off"));
}

TEST_CASE("admin: every registered method needs the role of the classification table") {
    AdminMethods admin;
    const auto registered = admin.registry().summaries();
    for (const auto& [name, summary] : registered) {
        INFO("method " << name);
        const auto expected = method_roles.find(name);
        if (expected == method_roles.end()) {
            FAIL_CHECK(name << " has no role in method_roles: classify it");
            continue;
        }
        CHECK(admin.registry().find(name)->needs == expected->second);
    }
    for (const auto& [name, role] : method_roles) {
        INFO("method " << name);
        CHECK(registered.count(name) == 1);
    }
}

TEST_CASE("admin: a read-only caller reaches every read method and no admin method") {
    AdminMethods admin;
    admin.result("device.add", {{"name", "SEP001122334455"}});
    const jsonrpc::Caller reader{jsonrpc::Role::read_only,
                                 "uid 1001 (alice) has the read-only role (admin.readonly_users)"};
    constexpr int permission_denied = -32001;
    for (const auto& [name, role] : method_roles) {
        INFO("method " << name);
        const json response = admin.call_as(reader, name, {{"name", "SEP001122334455"}});
        const int code = response.contains("error") ? response["error"]["code"].get<int>() : 0;
        if (role == jsonrpc::Role::admin) {
            CHECK(code == permission_denied);
            CHECK(response["error"]["message"] ==
                  "method " + name +
                      " needs the admin role; uid 1001 (alice) has the read-only role "
                      "(admin.readonly_users); the admin role is for root, the service user, "
                      "admin.allowed_users and members of admin.allowed_group");
        } else {
            // It may still refuse the parameter, but never the caller.
            CHECK(code != permission_denied);
        }
    }
    // Nothing the refused calls asked for happened.
    const json device = admin.result("device.get", {{"name", "SEP001122334455"}});
    CHECK(device["pending_operation"] == "none");
    CHECK(device["description"] == "");
    CHECK(admin.result("auth_string.pending")["devices"].empty());
}

}  // namespace capf::admin_methods_test_cases
