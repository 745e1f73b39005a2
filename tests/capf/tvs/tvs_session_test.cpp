// A TVS session on the shared listener, over loopback TLS: requests split
// across records and several on one connection are served; a malformed or
// unfinished request closes the connection and is counted.
#include <asio/post.hpp>
#include <catch2/catch.hpp>
#include <thread>

#include "ca/fingerprint.hpp"
#include "capf/tvs/session.hpp"
#include "tests/capf/test_support.hpp"
#include "tests/phone/blocking_tls_client.hpp"

namespace tvs_session_test_cases {

using namespace capf;
using namespace std::chrono_literals;
using capf::test::BlockingTlsClient;
using capf::test::PhoneTls;
namespace wire = capf::protocol::tvs;

namespace {

const std::vector<std::uint8_t> trusted_der = {0x30, 0x03, 0x02, 0x01, 0x2a};
const std::vector<std::uint8_t> unknown_der = {0x30, 0x03, 0x02, 0x01, 0x2b};

class RunningTvs {
  public:
    explicit RunningTvs(tvs::TvsSessionSettings settings)
        : creds_(test::TestIdentity::shared().chain, test::TestIdentity::shared().key) {
        std::unordered_map<std::string, tvs::TrustedEntry> entries;
        entries.emplace(ca::sha256_hex(trusted_der),
                        tvs::TrustedEntry{{1, 21}, 3600s, std::chrono::system_clock::now() + 24h});
        view_.replace(std::make_shared<const tvs::TrustedSnapshot>(1, std::move(entries)));
        PhoneListenerOptions options;
        options.endpoint = asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0);
        options.service = "tvs";
        listener_ = std::make_unique<PhoneListener>(
            io_, options, creds_, tvs::make_tvs_session_handler(settings, view_, stats_));
        listener_->start();
        thread_ = std::thread([this] { io_.run(); });
    }
    ~RunningTvs() {
        asio::post(io_, [this] {
            listener_->stop();
            io_.stop();
        });
        thread_.join();
    }
    std::uint16_t port() const { return listener_->port(); }
    const TvsStats& stats() const { return stats_; }

  private:
    asio::io_context io_;
    TlsCredentials creds_;
    tvs::TrustedView view_;
    TvsStats stats_;
    std::unique_ptr<PhoneListener> listener_;
    std::thread thread_;
};

tvs::TvsSessionSettings quick_settings() {
    tvs::TvsSessionSettings settings;
    settings.read_timeout = 500ms;
    return settings;
}

std::vector<std::uint8_t> request_bytes(std::uint32_t session_id,
                                        const std::vector<std::uint8_t>& der) {
    return wire::encode(wire::VerifyRequest{session_id, "CP-8845-SEP001122AABBCC", der});
}

/// The next whole answer, or nothing when the server closed first.
std::optional<wire::VerifyResponse> receive_answer(BlockingTlsClient& client,
                                                   wire::FrameReader& reader) {
    for (;;) {
        auto next = reader.next();
        if (auto* message = std::get_if<wire::Message>(&next))
            return std::get<wire::VerifyResponse>(*message);
        REQUIRE(std::holds_alternative<capf::protocol::NeedMoreBytes>(next));
        const auto data = client.receive_some(5s);
        if (data.empty())
            return std::nullopt;
        reader.feed(data);
    }
}

/// Whether the server closes the connection within `limit` (no data first).
bool closed_within(BlockingTlsClient& client, std::chrono::milliseconds limit) {
    try {
        return client.receive_some(limit).empty();
    } catch (const test::TlsClientError&) {
        return false;  // timed out: still open
    }
}

}  // namespace

TEST_CASE("tvs session: a request sent one byte per TLS record is answered") {
    RunningTvs server(quick_settings());
    BlockingTlsClient client("127.0.0.1", server.port(), PhoneTls::tls12_ecdhe, 5s);
    for (const std::uint8_t byte : request_bytes(77, trusted_der))
        client.send(std::span(&byte, 1));
    wire::FrameReader reader({}, wire::Command::verify_response);
    const auto answer = receive_answer(client, reader);
    REQUIRE(answer);
    CHECK(answer->valid());
    CHECK(answer->session_id == 77);
    CHECK(answer->roles == std::vector<std::uint8_t>{1, 21});
    CHECK(answer->ttl_seconds == std::optional<std::uint32_t>(3600));
}

TEST_CASE("tvs session: several requests on one connection are each answered with their own id") {
    RunningTvs server(quick_settings());
    BlockingTlsClient client("127.0.0.1", server.port(), PhoneTls::tls10_rsa, 5s);
    auto both = request_bytes(1, trusted_der);
    const auto second = request_bytes(2, unknown_der);
    both.insert(both.end(), second.begin(), second.end());
    client.send(both);  // two requests in one record
    wire::FrameReader reader({}, wire::Command::verify_response);
    const auto first_answer = receive_answer(client, reader);
    const auto second_answer = receive_answer(client, reader);
    REQUIRE(first_answer);
    REQUIRE(second_answer);
    CHECK((first_answer->session_id == 1 && first_answer->valid()));
    CHECK((second_answer->session_id == 2 && !second_answer->valid()));
    client.send(request_bytes(3, trusted_der));
    const auto third = receive_answer(client, reader);
    REQUIRE(third);
    CHECK((third->session_id == 3 && third->valid()));
    CHECK(server.stats().valid == 2);
    CHECK(server.stats().invalid == 1);
}

TEST_CASE("tvs session: a malformed request is closed without an answer and counted") {
    RunningTvs server(quick_settings());
    BlockingTlsClient client("127.0.0.1", server.port(), PhoneTls::tls12_ecdhe, 5s);
    auto bad = request_bytes(5, trusted_der);
    bad[0] = 0x58;  // not protocol id 87
    client.send(bad);
    CHECK(closed_within(client, 3000ms));
    CHECK(server.stats().malformed == 1);
    CHECK(server.stats().valid == 0);
}

TEST_CASE("tvs session: a request left unfinished is closed at tvs.read_timeout and counted") {
    RunningTvs server(quick_settings());
    BlockingTlsClient client("127.0.0.1", server.port(), PhoneTls::tls12_ecdhe, 5s);
    const auto request = request_bytes(6, trusted_der);
    client.send(std::span(request.data(), 5));  // half a header
    const auto started = std::chrono::steady_clock::now();
    CHECK(closed_within(client, 3000ms));
    CHECK(std::chrono::steady_clock::now() - started >= 400ms);
    CHECK(server.stats().read_timeouts == 1);
}

TEST_CASE("tvs session: a connection is closed after max_requests_per_connection answers") {
    auto settings = quick_settings();
    settings.max_requests_per_connection = 2;
    RunningTvs server(settings);
    BlockingTlsClient client("127.0.0.1", server.port(), PhoneTls::tls12_ecdhe, 5s);
    wire::FrameReader reader({}, wire::Command::verify_response);
    for (std::uint32_t id = 1; id <= 2; ++id) {
        client.send(request_bytes(id, trusted_der));
        REQUIRE(receive_answer(client, reader));
    }
    // Closed right after the second answer, before any third request.
    CHECK(closed_within(client, 3000ms));
    CHECK(server.stats().request_limit_reached == 1);
}

}  // namespace tvs_session_test_cases
