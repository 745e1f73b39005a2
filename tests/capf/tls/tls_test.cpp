// The TLS glue: in memory against Botan's client, and over loopback against
// `openssl s_client` as old and new phones would connect.
#include <botan/system_rng.h>
#include <botan/tls_client.h>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>
#include <asio/use_awaitable.hpp>
#include <catch2/catch.hpp>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <future>
#include <sstream>
#include <thread>

#include "ca/identity.hpp"
#include "ca/signer_cache.hpp"
#include "capf/tls/policy.hpp"
#include "capf/tls/stream.hpp"
#include "tests/capf/test_support.hpp"
#include "tests/phone/blocking_tls_client.hpp"

// The file's own namespace: the suite is compiled in unity batches, and its
// file-local names must not meet another file's.
namespace tls_test_cases {

using namespace capf;
using namespace std::chrono_literals;

namespace {

using capf::test::run_command;

capf::test::TestIdentity& identity() {
    return capf::test::TestIdentity::shared();
}

class TrustAll : public Botan::Credentials_Manager {};

class MemoryClient : public Botan::TLS::Callbacks {
  public:
    std::vector<std::uint8_t> to_server;
    std::vector<std::uint8_t> plaintext;
    bool active = false;
    void tls_emit_data(const uint8_t d[], size_t n) override {
        to_server.insert(to_server.end(), d, d + n);
    }
    void tls_record_received(uint64_t, const uint8_t d[], size_t n) override {
        plaintext.insert(plaintext.end(), d, d + n);
    }
    void tls_alert(Botan::TLS::Alert) override {}
    bool tls_session_established(const Botan::TLS::Session&) override { return false; }
    void tls_session_activated() override { active = true; }
    void tls_verify_cert_chain(const std::vector<Botan::X509_Certificate>&,
                               const std::vector<std::shared_ptr<const Botan::OCSP::Response>>&,
                               const std::vector<Botan::Certificate_Store*>&, Botan::Usage_Type,
                               const std::string&, const Botan::TLS::Policy&) override {
        // Phones pin the CAPF certificate through their ITL; not under test here.
    }
};

/// Runs a handshake between Botan's client and our server session through
/// byte vectors. Returns the server's negotiated description, or throws.
std::string memory_handshake(const Botan::TLS::Policy& server_policy,
                             const Botan::TLS::Policy& client_policy,
                             const std::vector<Botan::X509_Certificate>& chain = identity().chain,
                             const std::shared_ptr<Botan::Private_Key>& key = identity().key) {
    const auto offer = client_policy.latest_supported_version(false);
    TlsCredentials creds(chain, key);
    TrustAll client_creds;
    Botan::System_RNG rng;
    TlsServerSession server(creds, server_policy, rng);
    MemoryClient callbacks;
    Botan::TLS::Session_Manager_Noop sessions;
    Botan::TLS::Client client(callbacks, sessions, client_creds, client_policy, rng,
                              Botan::TLS::Server_Information("capf.test", 3804), offer);
    for (int round = 0; round < 10 && !(server.handshake_complete() && callbacks.active); ++round) {
        auto c2s = std::move(callbacks.to_server);
        callbacks.to_server.clear();
        server.received(c2s);
        const auto s2c = server.take_outgoing();
        if (!s2c.empty()) {
            client.received_data(s2c.data(), s2c.size());
        }
    }
    REQUIRE(server.handshake_complete());
    REQUIRE(callbacks.active);

    // Application data both ways.
    const std::string hello = "capf";
    client.send(reinterpret_cast<const uint8_t*>(hello.data()), hello.size());
    server.received(callbacks.to_server);
    const auto got = server.take_incoming();
    CHECK(std::string(got.begin(), got.end()) == hello);
    const std::vector<std::uint8_t> reply = {0x55, 0x01};
    server.send(reply);
    const auto out = server.take_outgoing();
    client.received_data(out.data(), out.size());
    CHECK(callbacks.plaintext == reply);
    return server.negotiated();
}

/// A one-connection TLS server on 127.0.0.1 for s_client. Reports the
/// negotiated suite, or the error, through the future.
class LoopbackTlsServer {
  public:
    explicit LoopbackTlsServer(TlsPolicy which)
        : policy_(make_tls_policy(which)),
          creds_(identity().chain, identity().key),
          acceptor_(io_, asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)) {
        asio::co_spawn(io_, serve_one(), asio::detached);
        thread_ = std::thread([this] { io_.run(); });
    }
    ~LoopbackTlsServer() {
        io_.stop();
        thread_.join();
    }
    unsigned short port() const { return acceptor_.local_endpoint().port(); }
    std::string outcome() {
        REQUIRE(result_.get_future().wait_for(20s) == std::future_status::ready);
        return outcome_;
    }

  private:
    asio::awaitable<void> serve_one() {
        auto socket = co_await acceptor_.async_accept(asio::use_awaitable);
        TlsStream stream(std::move(socket), creds_, *policy_, rng_);
        try {
            co_await stream.handshake(std::chrono::steady_clock::now() + 10s);
            outcome_ = "established " + stream.session().negotiated();
            const auto data = co_await stream.read_some(std::chrono::steady_clock::now() + 10s);
            co_await stream.write(data, std::chrono::steady_clock::now() + 10s);
            co_await stream.shutdown(std::chrono::steady_clock::now() + 2s);
        } catch (const std::exception& e) {
            if (outcome_.empty())
                outcome_ = std::string("refused ") + e.what();
        }
        result_.set_value();
    }

    asio::io_context io_;
    std::unique_ptr<Botan::TLS::Policy> policy_;
    TlsCredentials creds_;
    Botan::System_RNG rng_;
    asio::ip::tcp::acceptor acceptor_;
    std::promise<void> result_;
    std::string outcome_;
    std::thread thread_;
};

std::string s_client(unsigned short port, const std::string& options, int& status) {
    return run_command("printf 'ping\\n' | timeout 20 openssl s_client -connect 127.0.0.1:" +
                           std::to_string(port) + " " + options + " -ign_eof",
                       status);
}

}  // namespace

TEST_CASE("legacy policy serves an old phone: TLS 1.0, RSA key exchange, AES-128-CBC-SHA") {
    LegacyTlsPolicy legacy;
    const auto old_phone = test::make_phone_tls_policy(test::PhoneTls::tls10_rsa);
    const std::string negotiated = memory_handshake(legacy, *old_phone);
    CHECK_THAT(negotiated,
               Catch::Contains("TLS v1.0") && Catch::Contains("RSA_WITH_AES_128_CBC_SHA"));
}

TEST_CASE("both policies serve a new phone with TLS 1.2, ECDHE and AEAD") {
    LegacyTlsPolicy legacy;
    StrictTlsPolicy strict;
    const auto new_phone_policy = test::make_phone_tls_policy(test::PhoneTls::tls12_ecdhe);
    const auto& new_phone = *new_phone_policy;
    for (const Botan::TLS::Policy* p : {static_cast<const Botan::TLS::Policy*>(&legacy),
                                        static_cast<const Botan::TLS::Policy*>(&strict)}) {
        const std::string negotiated = memory_handshake(*p, new_phone);
        CHECK_THAT(negotiated, Catch::Contains("TLS v1.2") && Catch::Contains("ECDHE") &&
                                   (Catch::Contains("GCM") || Catch::Contains("CHACHA20")));
    }
}

TEST_CASE("strict policy refuses the old phone's TLS 1.0 handshake") {
    StrictTlsPolicy strict;
    const auto old_phone = test::make_phone_tls_policy(test::PhoneTls::tls10_rsa);
    CHECK_THROWS_AS(memory_handshake(strict, *old_phone), TlsError);
}

TEST_CASE("legacy completes a handshake with openssl s_client -tls1 AES128-SHA") {
    LoopbackTlsServer server(TlsPolicy::legacy);
    int status = 0;
    const std::string out =
        s_client(server.port(), "-tls1 -cipher 'AES128-SHA@SECLEVEL=0'", status);
    INFO(out);
    const std::string outcome = server.outcome();
    CHECK_THAT(outcome, Catch::StartsWith("established TLS v1.0") &&
                            Catch::Contains("RSA_WITH_AES_128_CBC_SHA"));
    CHECK_THAT(out, Catch::Contains("ping"));  // echoed back through TLS
    CHECK(WEXITSTATUS(status) == 0);
}

TEST_CASE("strict refuses openssl s_client -tls1 and accepts TLS 1.2 with ECDHE") {
    {
        LoopbackTlsServer server(TlsPolicy::strict);
        int status = 0;
        const std::string out =
            s_client(server.port(), "-tls1 -cipher 'AES128-SHA@SECLEVEL=0'", status);
        INFO(out);
        CHECK_THAT(server.outcome(), Catch::StartsWith("refused"));
        CHECK(WEXITSTATUS(status) != 0);
    }
    {
        LoopbackTlsServer server(TlsPolicy::strict);
        int status = 0;
        const std::string out = s_client(server.port(), "-tls1_2", status);
        INFO(out);
        CHECK_THAT(server.outcome(),
                   Catch::StartsWith("established TLS v1.2") && Catch::Contains("ECDHE"));
        CHECK(WEXITSTATUS(status) == 0);
    }
}

// Issue 13: what Botan would work out for every handshake is worked out once.
TEST_CASE("a prepared policy offers exactly the suites of the policy it prepares") {
    const LegacyTlsPolicy legacy;
    const StrictTlsPolicy strict;
    const PreparedTlsPolicy<LegacyTlsPolicy> prepared_legacy;
    const PreparedTlsPolicy<StrictTlsPolicy> prepared_strict;
    for (const auto v :
         {Botan::TLS::Protocol_Version::TLS_V10, Botan::TLS::Protocol_Version::TLS_V11,
          Botan::TLS::Protocol_Version::TLS_V12}) {
        INFO(Botan::TLS::Protocol_Version(v).to_string());
        CHECK(prepared_legacy.ciphersuite_list(v, false) == legacy.ciphersuite_list(v, false));
        CHECK_FALSE(prepared_legacy.ciphersuite_list(v, false).empty());
        if (v == Botan::TLS::Protocol_Version::TLS_V12) {
            CHECK(prepared_strict.ciphersuite_list(v, false) == strict.ciphersuite_list(v, false));
        } else {
            // Strict refuses TLS 1.0 and 1.1, prepared or not.
            CHECK_THROWS(strict.ciphersuite_list(v, false));
            CHECK_THROWS(prepared_strict.ciphersuite_list(v, false));
        }
    }
    CHECK(prepared_legacy.session_ticket_lifetime() == 0);
    CHECK(legacy.session_ticket_lifetime() > 0);  // the change is the prepared one's
}

TEST_CASE("capfd's TLS offers no session tickets and holds no pre-shared key") {
    auto& id = identity();
    TlsCredentials creds(id.chain, id.key);
    CHECK(creds.psk("tls-server", "session-ticket", "").length() == 0);
    LoopbackTlsServer server(TlsPolicy::legacy);
    int status = 0;
    const std::string out = s_client(server.port(), "-tls1_2 -tlsextdebug", status);
    INFO(out);
    CHECK_THAT(server.outcome(), Catch::StartsWith("established TLS v1.2"));
    CHECK_THAT(out, Catch::Contains("ping"));
    // What openssl prints when a server offers and sends a ticket (checked
    // against openssl s_server, which does).
    CHECK_THAT(out, !Catch::Contains("TLS server extension \"session ticket\""));
    CHECK_THAT(out, !Catch::Contains("session ticket lifetime hint"));
    CHECK_THAT(out, !Catch::Contains("TLS session ticket:"));
}

TEST_CASE("the handshake signs with the thread's cached signer for an RSA and an ECDSA key") {
    const auto new_phone = test::make_phone_tls_policy(test::PhoneTls::tls12_ecdhe);
    const PreparedTlsPolicy<LegacyTlsPolicy> legacy;
    // Keys of their own: no earlier test on this thread has a signer for them.
    ca::IdentityProfile rsa;
    rsa.common_name = "CAPF-rsa";
    const ca::Identity rsa_identity = ca::generate_identity(rsa);
    ca::IdentityProfile ec;
    ec.common_name = "CAPF-ec";
    ec.key = ca::KeySpec{ca::KeySpec::Algorithm::ec, 256};
    const ca::Identity ec_identity = ca::generate_identity(ec);
    struct Case {
        const char* name;
        std::vector<Botan::X509_Certificate> chain;
        std::shared_ptr<Botan::Private_Key> key;
        const char* suite;
    };
    for (const auto& c : {Case{"rsa", rsa_identity.chain, rsa_identity.key, "ECDHE_RSA"},
                          Case{"ecdsa", ec_identity.chain, ec_identity.key, "ECDHE_ECDSA"}}) {
        INFO(c.name);
        const std::size_t before = ca::cached_signers_on_this_thread();
        CHECK_THAT(memory_handshake(legacy, *new_phone, c.chain, c.key), Catch::Contains(c.suite));
        const std::size_t after_first = ca::cached_signers_on_this_thread();
        CHECK(after_first == before + 1);  // set up by the first handshake...
        CHECK_THAT(memory_handshake(legacy, *new_phone, c.chain, c.key), Catch::Contains(c.suite));
        CHECK(ca::cached_signers_on_this_thread() == after_first);  // ...and reused by the next
    }
}

TEST_CASE("the logged legacy policy lists TLS 1.0 and RSA key exchange") {
    const TlsPolicySummary legacy = describe_tls_policy(TlsPolicy::legacy);
    CHECK(legacy.name == "legacy");
    CHECK(legacy.versions == "TLS1.0,TLS1.1,TLS1.2");
    CHECK(legacy.key_exchanges == "ECDH,RSA");
    CHECK_THAT(legacy.ciphers, Catch::EndsWith(",AES-128"));  // AES-128-CBC for old phones
    CHECK_THAT(legacy.macs, Catch::Contains("SHA-1"));
    CHECK(legacy.minimum_rsa_bits == 1024);
}

TEST_CASE("the logged strict policy lists only TLS 1.2, ECDHE and AEAD") {
    const TlsPolicySummary strict = describe_tls_policy(TlsPolicy::strict);
    CHECK(strict.name == "strict");
    CHECK(strict.versions == "TLS1.2");
    CHECK(strict.key_exchanges == "ECDH");
    CHECK(strict.macs == "AEAD");
    std::string cipher;
    std::istringstream ciphers(strict.ciphers);
    std::size_t count = 0;
    while (std::getline(ciphers, cipher, ',')) {
        INFO(cipher);
        CHECK((cipher.find("/GCM") != std::string::npos || cipher == "ChaCha20Poly1305"));
        ++count;
    }
    CHECK(count > 0);
}

TEST_CASE("the policy summary is read from the Botan policy object itself") {
    const StrictTlsPolicy strict;
    const TlsPolicySummary summary = describe_tls_policy(strict, "strict");
    CHECK(summary.versions == "TLS1.2");
    CHECK(summary.minimum_rsa_bits == strict.minimum_rsa_bits());
    CHECK(summary.ciphers == "AES-256/GCM,AES-128/GCM,ChaCha20Poly1305");
}

}  // namespace tls_test_cases
