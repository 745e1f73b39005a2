// The dialogue against a scripted phone and in-memory store and authority:
// every path of protocol/README.md section 5, every refusal with its wire reason and cause.
#include "capf/dialogue/dialogue.hpp"

#include <algorithm>
#include <asio/co_spawn.hpp>
#include <asio/io_context.hpp>
#include <asio/use_future.hpp>
#include <catch2/catch.hpp>
#include <set>

#include "tests/capf/dialogue/dialogue_fakes.hpp"

// The file's own namespace: the suite is compiled in unity batches, and its
// file-local names must not meet another file's.
namespace dialogue_test_cases {

using namespace capf;
using namespace std::chrono_literals;
using protocol::Command;
using protocol::Message;
using protocol::Reason;
using protocol::Tag;
using test::FakeAuthority;
using test::FakeDeviceStore;
using test::ScriptedPhone;

namespace {

constexpr std::uint32_t sid = 0x01020304;
const std::string device = "SEP001122334455";

/// How the scripted phone behaves.
struct PhoneScript {
    std::string name = "sep001122334455";  // phones may send lowercase
    std::uint8_t version = 3;
    std::optional<std::string> password = "";
    std::optional<protocol::CertificateValue> certificate;
    std::vector<protocol::Bytes> intermediates;  ///< further CERTIFICATE elements
    protocol::Bytes fetched_der = {0x30, 0};
    int keygen_failures = 0;
    bool keygen_silent = false;
    protocol::Bytes public_key = {0x30, 0x59, 0x30, 0x13};
    Reason store_reason = Reason::success;
    Reason delete_reason = Reason::success;
    bool fetch_returns_certificate = true;
    std::uint32_t session_id_offset = 0;
    bool answer_auth_with_store_response = false;
};

ScriptedPhone::Reaction behave(PhoneScript s) {
    auto keygen_requests = std::make_shared<int>(0);
    return [s, keygen_requests](const Message& m) -> std::vector<Message> {
        const std::uint32_t id = m.session_id() + s.session_id_offset;
        switch (m.command()) {
            case Command::auth_request: {
                if (s.answer_auth_with_store_response) {
                    return {Message(Command::store_cert_response, id)};
                }
                Message r(Command::auth_response, id);
                r.add<Tag::version>(s.version).add<Tag::device_name>(s.name);
                if (s.password)
                    r.add<Tag::password>(*s.password);
                if (s.certificate) {
                    r.add<Tag::certificate>(*s.certificate)
                        .add<Tag::signed_data>(protocol::Bytes(16, 1))
                        .add<Tag::sha2_signed_data>(protocol::Sha2SignedData{
                            protocol::HashId::sha512, protocol::Bytes(16, 2)});
                    for (const auto& der : s.intermediates)
                        r.add<Tag::certificate>(
                            protocol::CertificateValue{protocol::CertType::mic, der});
                }
                return {r};
            }
            case Command::key_gen_request: {
                const int n = (*keygen_requests)++;
                if (s.keygen_silent)
                    return {Message(Command::request_in_progress, id)};
                Message r(Command::key_gen_response, id);
                if (n < s.keygen_failures) {
                    r.add<Tag::reason>(Reason::invalid_element);
                } else {
                    r.add<Tag::public_key>(s.public_key);
                }
                return {Message(Command::request_in_progress, id), r};
            }
            case Command::store_cert_request: {
                Message r(Command::store_cert_response, id);
                r.add<Tag::reason>(s.store_reason);
                return {r};
            }
            case Command::fetch_cert_request: {
                Message r(Command::fetch_cert_response, id);
                if (s.fetch_returns_certificate) {
                    r.add<Tag::reason>(Reason::success)
                        .add<Tag::certificate>(
                            protocol::CertificateValue{protocol::CertType::lsc, s.fetched_der});
                } else {
                    r.add<Tag::reason>(Reason::invalid_element);
                }
                return {r};
            }
            case Command::delete_cert_request: {
                Message r(Command::delete_cert_response, id);
                r.add<Tag::reason>(s.delete_reason);
                return {r};
            }
            default:
                return {};
        }
    };
}

DialogueSettings fast_settings() {
    DialogueSettings s;
    s.node = "node-a";
    s.read_timeout = 2s;
    s.auth_timeout = 2s;
    s.keygen_timeout = 100ms;
    s.keygen_retries = 3;
    return s;
}

FakeDeviceStore store_with(Operation op, AuthMode mode, ca::KeySpec spec = {}) {
    FakeDeviceStore store;
    store.devices[device] = DeviceForSession{device, op, mode, spec, false};
    return store;
}

SessionOutcome run_dialogue(FakeDeviceStore& store, FakeAuthority& authority, ScriptedPhone& phone,
                            DialogueSettings settings = fast_settings(),
                            std::size_t max_queued = 16, std::size_t* pool_trips = nullptr) {
    asio::io_context io;
    BlockingPool pool(1, max_queued);
    Dialogue dialogue(settings, store, authority, pool, "127.0.0.1:50000");
    auto result = asio::co_spawn(io, dialogue.run(phone, sid), asio::use_future);
    io.run();
    if (pool_trips)
        *pool_trips = pool.completed();
    return result.get();
}

std::optional<Reason> last_end_reason(const ScriptedPhone& phone) {
    if (phone.sent.empty() || phone.sent.back().command() != Command::end_session) {
        return std::nullopt;
    }
    return phone.sent.back().find<Tag::reason>();
}

bool audited(const FakeDeviceStore& store, const std::string& cause) {
    for (const auto& e : store.audits) {
        if (e.detail == cause)
            return true;
    }
    return false;
}

/// Audited as a session of `device` that never authenticated: rate limited
/// by source address (not port) and device, and no row of its own.
bool audited_unauthenticated(const FakeDeviceStore& store, const std::string& cause) {
    const bool counted =
        std::any_of(store.unauthenticated_audits.begin(), store.unauthenticated_audits.end(),
                    [&](const AuditEvent& e) {
                        return e.detail == cause && e.device == device && e.peer == "127.0.0.1";
                    });
    return counted && !audited(store, cause);
}

/// Audited as a peer that named no known device: rate limited by source
/// address (not port), no name.
bool audited_unidentified(const FakeDeviceStore& store, const std::string& cause) {
    for (const auto& e : store.unauthenticated_audits) {
        if (e.detail == cause && e.device.empty() && e.peer == "127.0.0.1")
            return true;
    }
    return false;
}

}  // namespace

TEST_CASE("dialogue: the server opens with AUTH_REQUEST version 3, auth type 0") {
    auto store = store_with(Operation::none, AuthMode::null_string);
    FakeAuthority authority;
    ScriptedPhone phone(behave({}));
    run_dialogue(store, authority, phone);
    REQUIRE_FALSE(phone.sent.empty());
    const Message& hello = phone.sent.front();
    CHECK(hello.command() == Command::auth_request);
    CHECK(hello.session_id() == sid);
    CHECK(hello.get<Tag::version>() == 3);
    CHECK(hello.get<Tag::auth_type>() == protocol::AuthType::none);
}

TEST_CASE("dialogue: install with null string issues, records, stores and ends with reason 1") {
    auto store = store_with(Operation::install, AuthMode::null_string);
    FakeAuthority authority;
    ScriptedPhone phone(behave({}));
    const auto outcome = run_dialogue(store, authority, phone);
    CHECK(outcome.result == SessionResult::succeeded);
    CHECK(outcome.device == device);
    CHECK(outcome.operation == Operation::install);
    CHECK(last_end_reason(phone) == Reason::success);
    // Recorded before sent, confirmed after the phone stored it.
    CHECK(store.calls == std::vector<std::string>{"claim " + device,
                                                  "issued " + device + " serial1",
                                                  "confirmed " + device + " serial1"});
    const auto key_gen = phone.sent.at(1);
    CHECK(key_gen.command() == Command::key_gen_request);
    CHECK(key_gen.get<Tag::key_type>() == protocol::KeyType::rsa);
    CHECK(key_gen.get<Tag::key_size>() == 2048);
    CHECK(phone.count_sent(Command::store_cert_request) == 1);
}

TEST_CASE("dialogue: EC key specs are requested with KEY_TYPE 1 and the curve") {
    auto store = store_with(Operation::install, AuthMode::null_string,
                            ca::KeySpec{ca::KeySpec::Algorithm::ec, 384});
    FakeAuthority authority;
    ScriptedPhone phone(behave({}));
    run_dialogue(store, authority, phone);
    const auto key_gen = phone.sent.at(1);
    CHECK(key_gen.get<Tag::key_type>() == protocol::KeyType::ec);
    CHECK(key_gen.get<Tag::curve>() == protocol::Curve::p384);
    CHECK_FALSE(key_gen.has(Tag::key_size));
}

TEST_CASE("dialogue: unknown device ends with reason 9 and an audit event") {
    FakeDeviceStore store;
    FakeAuthority authority;
    ScriptedPhone phone(behave({}));
    const auto outcome = run_dialogue(store, authority, phone);
    CHECK(last_end_reason(phone) == Reason::unknown_device);
    CHECK(outcome.cause_text() == "unknown_device");
    CHECK(audited_unidentified(store, "unknown_device"));
    CHECK(store.audits.empty());
    CHECK(store.calls.empty());
}

TEST_CASE("dialogue: an invalid device name is an unknown device") {
    auto store = store_with(Operation::install, AuthMode::null_string);
    FakeAuthority authority;
    PhoneScript script;
    script.name = "SEP 0011/22";
    ScriptedPhone phone(behave(script));
    const auto outcome = run_dialogue(store, authority, phone);
    CHECK(last_end_reason(phone) == Reason::unknown_device);
    CHECK(outcome.cause_text() == "invalid_device_name");
    CHECK(audited_unidentified(store, "invalid_device_name"));
}

TEST_CASE(
    "dialogue: a name that is not a device name reaches the log truncated and escaped, "
    "and the audit not at all") {
    auto store = store_with(Operation::install, AuthMode::null_string);
    FakeAuthority authority;
    PhoneScript script;
    script.name = std::string(300, 'A') + "~";
    ScriptedPhone phone(behave(script));
    const auto outcome = run_dialogue(store, authority, phone);
    CHECK(last_end_reason(phone) == Reason::unknown_device);
    CHECK(outcome.device.size() < 100);
    CHECK_THAT(outcome.device, Catch::EndsWith("...(301 bytes)"));
    REQUIRE(store.unauthenticated_audits.size() == 1);
    CHECK(store.unauthenticated_audits[0].device.empty());
    CHECK(store.audits.empty());
}

TEST_CASE("dialogue: no pending operation ends with reason 0") {
    auto store = store_with(Operation::none, AuthMode::null_string);
    FakeAuthority authority;
    ScriptedPhone phone(behave({}));
    const auto outcome = run_dialogue(store, authority, phone);
    CHECK(last_end_reason(phone) == Reason::no_action);
    CHECK(outcome.cause_text() == "no_pending_operation");
    CHECK(audited_unauthenticated(store, "no_pending_operation"));
}

TEST_CASE("dialogue: a passed deadline ends with reason 0 and nothing issued") {
    auto store = store_with(Operation::install, AuthMode::null_string);
    store.devices[device].deadline_passed = true;
    FakeAuthority authority;
    ScriptedPhone phone(behave({}));
    const auto outcome = run_dialogue(store, authority, phone);
    CHECK(last_end_reason(phone) == Reason::no_action);
    CHECK(outcome.cause_text() == "operation_deadline_passed");
    CHECK(authority.issued == 0);
}

TEST_CASE("dialogue: a wrong protocol version ends with reason 7") {
    auto store = store_with(Operation::install, AuthMode::null_string);
    FakeAuthority authority;
    PhoneScript script;
    script.version = 2;
    ScriptedPhone phone(behave(script));
    const auto outcome = run_dialogue(store, authority, phone);
    CHECK(last_end_reason(phone) == Reason::invalid_element);
    CHECK(outcome.cause_text() == "wrong_version: 2");
    CHECK(audited_unauthenticated(store, "wrong_version: 2"));
}

TEST_CASE("dialogue: auth string accepted once, refused when wrong, missing, unset or locked") {
    FakeAuthority authority;
    {
        auto store = store_with(Operation::install, AuthMode::auth_string);
        store.auth_strings[device] = "123456";
        PhoneScript script;
        script.password = "123456";
        ScriptedPhone phone(behave(script));
        CHECK(run_dialogue(store, authority, phone).result == SessionResult::succeeded);
        CHECK(store.auth_strings.empty());  // used up by the success
    }
    struct Case {
        std::optional<std::string> sent;
        const char* cause;
        bool set = true;
        bool locked = false;
    };
    for (const Case& c :
         {Case{"654321", "auth_string_mismatch"}, Case{"", "auth_string_missing"},
          Case{std::nullopt, "auth_string_missing"}, Case{"123456", "auth_string_not_set", false},
          Case{"123456", "auth_string_locked_out", true, true}}) {
        INFO(c.cause);
        auto store = store_with(Operation::install, AuthMode::auth_string);
        if (c.set)
            store.auth_strings[device] = "123456";
        if (c.locked)
            store.locked_out.insert(device);
        PhoneScript script;
        script.password = c.sent;
        ScriptedPhone phone(behave(script));
        const auto outcome = run_dialogue(store, authority, phone);
        CHECK(last_end_reason(phone) == Reason::invalid_element);
        CHECK(outcome.cause_text() == c.cause);
        CHECK(audited_unauthenticated(store, c.cause));
        CHECK(store.calls.empty());  // nothing claimed, nothing issued
    }
}

TEST_CASE("dialogue: certificate authentication passes the presented pieces to the authority") {
    auto store = store_with(Operation::install, AuthMode::lsc_or_mic);
    FakeAuthority authority;
    PhoneScript script;
    script.certificate =
        protocol::CertificateValue{protocol::CertType::mic, protocol::Bytes{0x30, 1}};
    ScriptedPhone phone(behave(script));
    CHECK(run_dialogue(store, authority, phone).result == SessionResult::succeeded);
    REQUIRE(authority.verified.size() == 1);
    CHECK(authority.verified[0].role == CertificateRole::mic);
    CHECK(authority.verified[0].der == protocol::Bytes{0x30, 1});
    CHECK(authority.verified[0].sha2_hash_id == 3);
}

TEST_CASE("dialogue: certificate authentication failures end with reason 7 naming the cause") {
    FakeAuthority authority;
    authority.verification_result.emplace("not_bound_to_device");
    auto store = store_with(Operation::install, AuthMode::lsc);
    PhoneScript script;
    script.certificate =
        protocol::CertificateValue{protocol::CertType::lsc, protocol::Bytes{0x30, 1}};
    ScriptedPhone phone(behave(script));
    const auto outcome = run_dialogue(store, authority, phone);
    CHECK(last_end_reason(phone) == Reason::invalid_element);
    CHECK(outcome.cause_text() == "not_bound_to_device");
    CHECK(authority.issued == 0);

    // A MIC where an LSC is required, and no certificate at all.
    FakeAuthority ok;
    auto store2 = store_with(Operation::install, AuthMode::lsc);
    script.certificate->type = protocol::CertType::mic;
    ScriptedPhone mic_phone(behave(script));
    CHECK(run_dialogue(store2, ok, mic_phone).cause_text() == "lsc_required");
    auto store3 = store_with(Operation::install, AuthMode::mic);
    ScriptedPhone bare_phone(behave({}));
    CHECK(run_dialogue(store3, ok, bare_phone).cause_text() == "certificate_missing");
}

TEST_CASE("dialogue: keygen fails twice then succeeds within the retries") {
    auto store = store_with(Operation::install, AuthMode::null_string);
    FakeAuthority authority;
    PhoneScript script;
    script.keygen_failures = 2;
    ScriptedPhone phone(behave(script));
    const auto outcome = run_dialogue(store, authority, phone);
    CHECK(outcome.result == SessionResult::succeeded);
    CHECK(phone.count_sent(Command::key_gen_request) == 3);
    CHECK(authority.issued == 1);
}

TEST_CASE("dialogue: keygen failing beyond the retries fails the operation") {
    auto store = store_with(Operation::install, AuthMode::null_string);
    FakeAuthority authority;
    PhoneScript script;
    script.keygen_failures = 10;
    ScriptedPhone phone(behave(script));
    auto settings = fast_settings();
    settings.keygen_retries = 2;
    const auto outcome = run_dialogue(store, authority, phone, settings);
    CHECK(outcome.result == SessionResult::failed);
    CHECK_THAT(outcome.cause_text(),
               Catch::StartsWith("keygen_failed") && Catch::Contains("3 attempts"));
    CHECK(phone.count_sent(Command::key_gen_request) == 3);
    CHECK(last_end_reason(phone) == Reason::invalid_element);
    CHECK(authority.issued == 0);
    REQUIRE(store.failures.size() == 1);
    CHECK_THAT(store.failures[0], Catch::StartsWith("keygen_failed"));
}

TEST_CASE("dialogue: keygen exceeding the timeout on every attempt fails the operation") {
    auto store = store_with(Operation::install, AuthMode::null_string);
    FakeAuthority authority;
    PhoneScript script;
    script.keygen_silent = true;  // REQUEST_IN_PROGRESS, then nothing
    ScriptedPhone phone(behave(script));
    auto settings = fast_settings();
    settings.keygen_timeout = 150ms;
    settings.keygen_retries = 1;
    const auto start = std::chrono::steady_clock::now();
    const auto outcome = run_dialogue(store, authority, phone, settings);
    const auto took = std::chrono::steady_clock::now() - start;
    CHECK(outcome.result == SessionResult::failed);
    CHECK_THAT(outcome.cause_text(), Catch::StartsWith("keygen_timeout"));
    CHECK(phone.count_sent(Command::key_gen_request) == 2);
    CHECK(took >= 300ms);  // two full timeouts: REQUEST_IN_PROGRESS does not extend them
    // Only a bound against hanging: a loaded 2-core machine under ASan is slow.
    CHECK(took < 20s);
}

TEST_CASE("dialogue: a key of the wrong kind is rejected and nothing is issued") {
    auto store = store_with(Operation::install, AuthMode::null_string);
    FakeAuthority authority;
    PhoneScript script;
    script.public_key = {'b', 'a', 'd'};
    ScriptedPhone phone(behave(script));
    const auto outcome = run_dialogue(store, authority, phone);
    CHECK(outcome.result == SessionResult::failed);
    CHECK_THAT(outcome.cause_text(), Catch::StartsWith("key_rejected: expected rsa-2048"));
    CHECK(phone.count_sent(Command::store_cert_request) == 0);
}

TEST_CASE("dialogue: a phone refusing to store leaves the certificate issued, not current") {
    auto store = store_with(Operation::install, AuthMode::null_string);
    FakeAuthority authority;
    PhoneScript script;
    script.store_reason = static_cast<Reason>(4);
    ScriptedPhone phone(behave(script));
    const auto outcome = run_dialogue(store, authority, phone);
    CHECK(outcome.result == SessionResult::failed);
    CHECK(outcome.cause_text() == "store_refused: reason 4");
    // Recorded as refused (that certificate can never authenticate), with
    // the failure, once.
    CHECK(store.calls == std::vector<std::string>{"claim " + device,
                                                  "issued " + device + " serial1",
                                                  "store-refused " + device + " serial1"});
    CHECK(store.failures == std::vector<std::string>{"store_refused: reason 4"});
}

TEST_CASE("dialogue: fetch records the returned certificate and ends with reason 0") {
    auto store = store_with(Operation::fetch, AuthMode::null_string);
    FakeAuthority authority;
    ScriptedPhone phone(behave({}));
    const auto outcome = run_dialogue(store, authority, phone);
    CHECK(outcome.result == SessionResult::succeeded);
    CHECK(last_end_reason(phone) == Reason::no_action);
    CHECK(store.calls.back() == "fetched " + device + " " + std::string(32, 'f'));

    auto store2 = store_with(Operation::fetch, AuthMode::null_string);
    PhoneScript nothing;
    nothing.fetch_returns_certificate = false;
    ScriptedPhone empty_phone(behave(nothing));
    CHECK(run_dialogue(store2, authority, empty_phone).cause_text() == "fetch_refused: reason 7");
}

TEST_CASE("dialogue: delete clears the record and ends with reason 1") {
    auto store = store_with(Operation::remove, AuthMode::null_string);
    FakeAuthority authority;
    ScriptedPhone phone(behave({}));
    const auto outcome = run_dialogue(store, authority, phone);
    CHECK(outcome.result == SessionResult::succeeded);
    CHECK(last_end_reason(phone) == Reason::success);
    CHECK(store.calls.back() == "deleted " + device);
}

TEST_CASE("dialogue: an operation claimed by another session ends with reason 0") {
    auto store = store_with(Operation::install, AuthMode::null_string);
    store.claim_refused = true;
    FakeAuthority authority;
    ScriptedPhone phone(behave({}));
    const auto outcome = run_dialogue(store, authority, phone);
    CHECK(last_end_reason(phone) == Reason::no_action);
    CHECK(outcome.cause_text() == "operation_claimed_elsewhere");
    CHECK(authority.issued == 0);
}

TEST_CASE("dialogue: an unreachable database refuses the phone cleanly") {
    auto store = store_with(Operation::install, AuthMode::null_string);
    store.unavailable = true;
    FakeAuthority authority;
    ScriptedPhone phone(behave({}));
    const auto outcome = run_dialogue(store, authority, phone);
    CHECK(outcome.result == SessionResult::failed);
    CHECK(outcome.cause_text() == "database_unavailable");
    CHECK(last_end_reason(phone) == Reason::invalid_element);
}

TEST_CASE("dialogue: a wrong session id or an unexpected message ends with reason 7") {
    auto store = store_with(Operation::install, AuthMode::null_string);
    FakeAuthority authority;
    PhoneScript wrong_id;
    wrong_id.session_id_offset = 1;
    ScriptedPhone phone(behave(wrong_id));
    auto outcome = run_dialogue(store, authority, phone);
    CHECK(last_end_reason(phone) == Reason::invalid_element);
    CHECK(outcome.cause_text() == "invalid_message: session_id_mismatch");

    PhoneScript confused;
    confused.answer_auth_with_store_response = true;
    ScriptedPhone confused_phone(behave(confused));
    outcome = run_dialogue(store, authority, confused_phone);
    CHECK(last_end_reason(confused_phone) == Reason::invalid_element);
    CHECK_THAT(outcome.cause_text(), Catch::StartsWith("unexpected_message: STORE_CERT_RESPONSE"));
}

TEST_CASE("dialogue: a silent phone times out") {
    auto store = store_with(Operation::install, AuthMode::null_string);
    FakeAuthority authority;
    ScriptedPhone phone([](const Message&) { return std::vector<Message>{}; });
    auto settings = fast_settings();
    settings.read_timeout = 100ms;
    settings.auth_timeout = 100ms;
    const auto outcome = run_dialogue(store, authority, phone, settings);
    CHECK(outcome.result == SessionResult::failed);
    CHECK(outcome.cause_text() == "timeout");
}

TEST_CASE(
    "dialogue: a peer that never sends AUTH_RESPONSE is cut off at the shorter auth deadline") {
    auto store = store_with(Operation::install, AuthMode::null_string);
    FakeAuthority authority;
    ScriptedPhone phone([](const Message&) { return std::vector<Message>{}; });
    auto settings = fast_settings();
    settings.read_timeout = 30s;
    settings.auth_timeout = 100ms;
    const auto start = std::chrono::steady_clock::now();
    const auto outcome = run_dialogue(store, authority, phone, settings);
    CHECK(outcome.cause_text() == "timeout");
    CHECK(std::chrono::steady_clock::now() - start < 15s);  // not the 30 s read timeout
}

TEST_CASE(
    "dialogue: a phone that vanishes mid-dialogue is recorded as gone, and hears nothing more") {
    auto store = store_with(Operation::install, AuthMode::null_string);
    FakeAuthority authority;
    ScriptedPhone phone(behave({}));
    phone.hang_up_on = Command::key_gen_request;
    const auto outcome = run_dialogue(store, authority, phone);
    CHECK(outcome.result == SessionResult::failed);
    CHECK(outcome.cause == SessionCause::phone_closed_connection);
    // No END_SESSION written to a dead session: KEY_GEN_REQUEST was the last word.
    CHECK(phone.sent.back().command() == Command::key_gen_request);
    CHECK(phone.sends_after_hang_up == 0);
    CHECK_FALSE(outcome.end_reason.has_value());
    // Audited as the phone going away, not as an internal error.
    CHECK(audited(store, "phone_closed_connection"));
    CHECK_FALSE(audited(store, "internal_error"));
    REQUIRE(store.failures == std::vector<std::string>{"phone_closed_connection"});
    CHECK(authority.issued == 0);
}

TEST_CASE(
    "dialogue: a success whose END_SESSION the phone never hears stays a success and is recorded once") {
    // Found by the dialogue fuzzer: the phone confirms, the outcome is
    // recorded, then the phone is gone before END_SESSION reaches it.
    for (const auto operation : {Operation::install, Operation::fetch, Operation::remove}) {
        INFO("operation " << storage::to_text(operation));
        auto store = store_with(operation, AuthMode::null_string);
        FakeAuthority authority;
        ScriptedPhone phone(behave({}));
        phone.hang_up_after = operation == Operation::install ? Command::store_cert_response
                              : operation == Operation::fetch ? Command::fetch_cert_response
                                                              : Command::delete_cert_response;
        const auto outcome = run_dialogue(store, authority, phone);
        CHECK(outcome.result == SessionResult::succeeded);
        CHECK(store.failures.empty());  // no record_failure over the finished operation
        CHECK(std::none_of(store.calls.begin(), store.calls.end(),
                           [](const std::string& c) { return c.rfind("failed", 0) == 0; }));
        CHECK(phone.sends_after_hang_up == 1);  // the one END_SESSION, and nothing after it
        CHECK_FALSE(audited(store, "phone_closed_connection"));
    }
}

TEST_CASE("dialogue: an install under the null string takes three trips to the pool") {
    // Issue 13: the lookup claims (nothing else is left to check under the
    // null string), the LSC is issued and recorded in one trip, and the
    // confirmation is the third; the authentication is audited with the claim.
    auto store = store_with(Operation::install, AuthMode::null_string);
    FakeAuthority authority;
    ScriptedPhone phone(behave({}));
    std::size_t trips = 0;
    const auto outcome = run_dialogue(store, authority, phone, fast_settings(), 16, &trips);
    REQUIRE(outcome.result == SessionResult::succeeded);
    CHECK(trips == 3);
    CHECK(store.lookups == 1);
    REQUIRE(store.expectations.size() == 1);
    REQUIRE(store.expectations[0].audit);
    CHECK(store.expectations[0].audit->event == "authentication");
    CHECK(store.expectations[0].audit->detail == "null-string");
    CHECK(store.expectations[0].audit->peer == "127.0.0.1:50000");
    CHECK(audited(store, "null-string"));
}

TEST_CASE("dialogue: another version under the null string is refused before any claim") {
    auto store = store_with(Operation::install, AuthMode::null_string);
    FakeAuthority authority;
    PhoneScript script;
    script.version = 2;
    ScriptedPhone phone(behave(script));
    const auto outcome = run_dialogue(store, authority, phone);
    CHECK(outcome.cause == SessionCause::wrong_version);
    CHECK(store.expectations.empty());  // nothing claimed, no authentication audited
    CHECK_FALSE(audited(store, "null-string"));
}

TEST_CASE("dialogue: under an auth string the claim waits for the string to match") {
    auto store = store_with(Operation::install, AuthMode::auth_string);
    store.auth_strings[device] = "123456";
    FakeAuthority authority;
    PhoneScript script;
    script.password = "123456";
    ScriptedPhone phone(behave(script));
    std::size_t trips = 0;
    const auto outcome = run_dialogue(store, authority, phone, fast_settings(), 16, &trips);
    REQUIRE(outcome.result == SessionResult::succeeded);
    CHECK(trips == 5);  // lookup, string, claim, issue and record, confirmation
    REQUIRE(store.expectations.size() == 1);
    CHECK(store.expectations[0].auth_string_hash == "hash-of-123456");
    REQUIRE(store.expectations[0].audit);
    CHECK(store.expectations[0].audit->detail == "auth-string");
}

TEST_CASE("dialogue: every change is recorded with the phone's address as its actor") {
    auto store = store_with(Operation::install, AuthMode::null_string);
    FakeAuthority authority;
    ScriptedPhone phone(behave({}));
    REQUIRE(run_dialogue(store, authority, phone).result == SessionResult::succeeded);
    REQUIRE(store.actors.size() == 2);  // issued, confirmed
    for (const auto& actor : store.actors)
        CHECK(actor == "127.0.0.1:50000");
    for (const auto& e : store.audits)
        CHECK(e.peer == "127.0.0.1:50000");
}

TEST_CASE("dialogue: outcomes are typed values with one readable form") {
    auto store = store_with(Operation::install, AuthMode::null_string);
    FakeAuthority authority;
    PhoneScript old_phone;
    old_phone.version = 2;
    ScriptedPhone phone(behave(old_phone));
    const auto outcome = run_dialogue(store, authority, phone);
    CHECK(outcome.result == SessionResult::refused);
    CHECK(outcome.cause == SessionCause::wrong_version);
    CHECK(outcome.detail == "2");
    CHECK(outcome.cause_text() == "wrong_version: 2");

    SessionOutcome installed;
    installed.cause = SessionCause::lsc_installed;
    installed.detail = "serial=ab12";
    CHECK(installed.cause_text() == "lsc_installed serial=ab12");
    SessionOutcome refused_cert;
    refused_cert.cause = SessionCause::certificate_refused;
    refused_cert.detail = "untrusted_chain";
    CHECK(refused_cert.cause_text() == "untrusted_chain");

    // Every cause has its own name: a log line never confuses two of them.
    std::set<std::string_view> names;
    for (int c = static_cast<int>(SessionCause::none);
         c <= static_cast<int>(SessionCause::internal_error); ++c) {
        names.insert(session_cause_name(static_cast<SessionCause>(c)));
    }
    CHECK(names.size() == static_cast<std::size_t>(SessionCause::internal_error) + 1);
}

// --- authentication under attack (issue 11) ----------------------------------

namespace {

PhoneScript presenting(protocol::CertType type, protocol::Bytes der = {0x30, 1}) {
    PhoneScript script;
    script.certificate = protocol::CertificateValue{type, std::move(der)};
    return script;
}

}  // namespace

TEST_CASE(
    "dialogue: an auth string is used up only by a success: after a failed key generation "
    "the phone retries with the same string") {
    auto store = store_with(Operation::install, AuthMode::auth_string);
    store.auth_strings[device] = "482916";
    FakeAuthority authority;
    PhoneScript failing;
    failing.password = "482916";
    failing.keygen_failures = 100;
    ScriptedPhone phone(behave(failing));
    auto settings = fast_settings();
    settings.keygen_retries = 0;
    CHECK(run_dialogue(store, authority, phone, settings).cause == SessionCause::keygen_failed);
    CHECK(store.auth_strings.count(device) == 1);  // still there

    PhoneScript retry;
    retry.password = "482916";
    ScriptedPhone again(behave(retry));
    CHECK(run_dialogue(store, authority, again).result == SessionResult::succeeded);
    CHECK(store.auth_strings.count(device) == 0);  // used up now
    REQUIRE(store.expectations.size() == 2);
    CHECK(store.expectations[1].auth_string_hash == std::optional<std::string>("hash-of-482916"));
}

TEST_CASE(
    "dialogue: the claim binds the authenticated mode and operation: a change between "
    "authentication and claim is refused as operation_changed") {
    auto store = store_with(Operation::install, AuthMode::null_string);
    store.change_before_claim = [](DeviceForSession& d) { d.auth_mode = AuthMode::mic; };
    FakeAuthority authority;
    ScriptedPhone phone(behave({}));
    const auto outcome = run_dialogue(store, authority, phone);
    CHECK(last_end_reason(phone) == Reason::invalid_element);
    CHECK(outcome.result == SessionResult::refused);
    CHECK(outcome.cause == SessionCause::operation_changed);
    CHECK(authority.issued == 0);
    REQUIRE(store.expectations.size() == 1);
    CHECK(store.expectations[0].auth_mode == AuthMode::null_string);
    CHECK(store.expectations[0].operation == Operation::install);
    CHECK(audited(store, "operation_changed: changed (fake)"));

    auto store2 = store_with(Operation::install, AuthMode::null_string);
    store2.change_before_claim = [](DeviceForSession& d) { d.operation = Operation::remove; };
    ScriptedPhone phone2(behave({}));
    CHECK(run_dialogue(store2, authority, phone2).cause == SessionCause::operation_changed);
}

TEST_CASE(
    "dialogue: only the current LSC authenticates: superseded, refused, deleted, revoked and "
    "foreign ones are refused naming their standing") {
    using S = CertificateStanding;
    for (const auto& [standing, text] :
         {std::pair{S::superseded, "superseded"}, std::pair{S::refused, "refused"},
          std::pair{S::deleted, "deleted"}, std::pair{S::revoked, "revoked"},
          std::pair{S::not_issued, "not-issued"}}) {
        INFO(text);
        auto store = store_with(Operation::install, AuthMode::lsc);
        store.standings["cafe01"] = standing;
        FakeAuthority authority;
        ScriptedPhone phone(behave(presenting(protocol::CertType::lsc)));
        const auto outcome = run_dialogue(store, authority, phone);
        CHECK(last_end_reason(phone) == Reason::invalid_element);
        CHECK(outcome.cause_text() == std::string("lsc_not_current: ") + text);
        CHECK(audited_unauthenticated(store, std::string("lsc_not_current: ") + text));
        CHECK(authority.issued == 0);
        CHECK(store.calls == std::vector<std::string>{"standing cafe01"});  // nothing claimed
    }
}

TEST_CASE("dialogue: a MIC is not looked up as an LSC") {
    auto store = store_with(Operation::install, AuthMode::mic);
    store.standings["cafe01"] = CertificateStanding::not_issued;
    FakeAuthority authority;
    ScriptedPhone phone(behave(presenting(protocol::CertType::mic)));
    CHECK(run_dialogue(store, authority, phone).result == SessionResult::succeeded);
    CHECK(std::find(store.calls.begin(), store.calls.end(), "standing cafe01") ==
          store.calls.end());
}

TEST_CASE(
    "dialogue: an unknown-outcome LSC presented with a valid proof is confirmed and "
    "completes the install it was issued for") {
    auto store = store_with(Operation::install, AuthMode::lsc_or_mic);
    store.standings["cafe01"] = CertificateStanding::unknown_outcome;
    store.confirm_completes_install = true;
    FakeAuthority authority;
    ScriptedPhone phone(behave(presenting(protocol::CertType::lsc)));
    const auto outcome = run_dialogue(store, authority, phone);
    CHECK(outcome.result == SessionResult::succeeded);
    CHECK(outcome.cause_text() == "lsc_confirmed serial=cafe01");
    CHECK(last_end_reason(phone) == Reason::success);
    CHECK(authority.issued == 0);
    CHECK(store.calls ==
          std::vector<std::string>{"standing cafe01", "confirm-presented " + device + " cafe01"});
    CHECK(store.actors == std::vector<std::string>{"127.0.0.1:50000"});
}

TEST_CASE(
    "dialogue: a confirmed unknown-outcome LSC that completes nothing lets the pending "
    "operation run") {
    auto store = store_with(Operation::remove, AuthMode::lsc);
    store.standings["cafe01"] = CertificateStanding::unknown_outcome;
    FakeAuthority authority;
    ScriptedPhone phone(behave(presenting(protocol::CertType::lsc)));
    CHECK(run_dialogue(store, authority, phone).cause == SessionCause::certificate_deleted);
    CHECK(store.calls.at(1) == "confirm-presented " + device + " cafe01");
    CHECK(store.calls.back() == "deleted " + device);
}

TEST_CASE(
    "dialogue: intermediates the phone sends after its certificate reach the authority, "
    "with the device's require_sudi") {
    auto store = store_with(Operation::install, AuthMode::mic);
    store.devices[device].require_sudi = true;
    FakeAuthority authority;
    auto script = presenting(protocol::CertType::mic);
    script.intermediates = {protocol::Bytes{0x30, 7}, protocol::Bytes{0x30, 8}};
    ScriptedPhone phone(behave(script));
    CHECK(run_dialogue(store, authority, phone).result == SessionResult::succeeded);
    REQUIRE(authority.verified.size() == 1);
    CHECK(authority.verified[0].der == protocol::Bytes{0x30, 1});
    CHECK(authority.verified[0].intermediates ==
          std::vector<protocol::Bytes>{{0x30, 7}, {0x30, 8}});
    CHECK(authority.verified[0].require_sudi);
}

TEST_CASE("dialogue: the authentication's audit says what the SUDI amounted to") {
    for (const std::string evidence :
         {"", "sudi_verified", "sudi_unverified: no sudi-root anchor configured"}) {
        INFO(evidence);
        auto store = store_with(Operation::install, AuthMode::mic);
        FakeAuthority authority;
        authority.sudi_evidence = evidence;
        ScriptedPhone phone(behave(presenting(protocol::CertType::mic)));
        CHECK(run_dialogue(store, authority, phone).result == SessionResult::succeeded);
        const auto accepted =
            std::find_if(store.audits.begin(), store.audits.end(), [](const AuditEvent& e) {
                return e.event == "authentication" && e.outcome == "accepted";
            });
        REQUIRE(accepted != store.audits.end());
        CHECK(accepted->detail == (evidence.empty() ? "mic" : "mic, " + evidence));
    }
}

TEST_CASE("dialogue: fetch records only a certificate that belongs to the device") {
    auto store = store_with(Operation::fetch, AuthMode::null_string);
    FakeAuthority authority;
    authority.fetched_result.emplace("not_bound_to_device");
    ScriptedPhone phone(behave({}));
    const auto outcome = run_dialogue(store, authority, phone);
    CHECK(outcome.result == SessionResult::refused);
    CHECK(outcome.cause_text() == "fetched_certificate_refused: not_bound_to_device");
    CHECK(last_end_reason(phone) == Reason::invalid_element);
    CHECK(store.calls == std::vector<std::string>{"claim " + device, "failed " + device});
    CHECK(store.failures == std::vector<std::string>{outcome.cause_text()});
}

TEST_CASE(
    "dialogue: with certificate authentication, fetch records only the certificate the "
    "phone authenticated with") {
    auto store = store_with(Operation::fetch, AuthMode::lsc);
    FakeAuthority authority;
    auto script = presenting(protocol::CertType::lsc, {0x30, 1});
    script.fetched_der = {0x30, 2};  // another certificate
    ScriptedPhone phone(behave(script));
    const auto outcome = run_dialogue(store, authority, phone);
    CHECK(outcome.cause_text() == "fetched_certificate_refused: not_the_authenticated_certificate");
    CHECK(store.calls.back() == "failed " + device);

    auto store2 = store_with(Operation::fetch, AuthMode::lsc);
    script.fetched_der = {0x30, 1};  // the same one
    ScriptedPhone honest(behave(script));
    CHECK(run_dialogue(store2, authority, honest).cause == SessionCause::certificate_fetched);
}

TEST_CASE(
    "dialogue: a full blocking queue refuses a new session with END_SESSION 0 before "
    "anything is looked up") {
    auto store = store_with(Operation::install, AuthMode::null_string);
    FakeAuthority authority;
    ScriptedPhone phone(behave({}));
    // No job may wait: the session's first blocking call is refused.
    const auto outcome = run_dialogue(store, authority, phone, fast_settings(), 0);
    CHECK(last_end_reason(phone) == Reason::no_action);
    CHECK(outcome.result == SessionResult::no_action);
    CHECK(outcome.cause == SessionCause::server_busy);
    CHECK(store.lookups == 0);
    CHECK(store.calls.empty());
    CHECK(authority.issued == 0);
}

}  // namespace dialogue_test_cases
