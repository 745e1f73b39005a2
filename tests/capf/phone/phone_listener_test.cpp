// The phone listener on loopback: TLS to the session handler, the session
// limit, silent peers, non-TLS peers, stopping while phones connect.
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <asio/post.hpp>
#include <asio/steady_timer.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>
#include <atomic>
#include <catch2/catch.hpp>
#include <cerrno>
#include <functional>
#include <future>
#include <thread>

#include "capf/phone/listener.hpp"
#include "capf/phone/message_channel.hpp"
#include "tests/capf/test_support.hpp"
#include "tests/phone/blocking_tls_client.hpp"

// The file's own namespace: the suite is compiled in unity batches, and its
// file-local names must not meet another file's.
namespace phone_listener_test_cases {

using namespace capf;
using namespace std::chrono_literals;
using capf::test::BlockingTlsClient;
using capf::test::PhoneTls;

namespace {

/// Echoes what the phone sends until it closes.
asio::awaitable<void> echo_session(TlsStream& stream, const PeerInfo&) {
    for (;;) {
        auto data = co_await stream.read_some(std::chrono::steady_clock::now() + 10s);
        if (data.empty()) {
            co_return;
        }
        co_await stream.write(data, std::chrono::steady_clock::now() + 10s);
    }
}

class RunningListener {
  public:
    explicit RunningListener(PhoneListenerOptions options, SessionHandler handler = echo_session)
        : creds_(test::TestIdentity::shared().chain, test::TestIdentity::shared().key) {
        options.endpoint = asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0);
        listener_ = std::make_unique<PhoneListener>(io_, options, creds_, std::move(handler));
        listener_->start();
        thread_ = std::thread([this] { io_.run(); });
    }
    ~RunningListener() {
        asio::post(io_, [this] {
            listener_->stop();
            io_.stop();
        });
        thread_.join();
    }
    std::uint16_t port() const { return listener_->port(); }
    const PhoneListenerStats& stats() const { return listener_->stats(); }

    template <typename Predicate>
    bool wait_for(Predicate p, std::chrono::milliseconds limit = 5s) const {
        const auto until = std::chrono::steady_clock::now() + limit;
        while (!p()) {
            if (std::chrono::steady_clock::now() > until)
                return false;
            std::this_thread::sleep_for(10ms);
        }
        return true;
    }

  private:
    asio::io_context io_;
    TlsCredentials creds_;
    std::unique_ptr<PhoneListener> listener_;
    std::thread thread_;
};

std::vector<std::uint8_t> bytes(std::string_view s) {
    return {s.begin(), s.end()};
}

/// TLS 1.0 CBC splits records 1/n-1 (the BEAST countermeasure), so data
/// may arrive in several pieces.
std::vector<std::uint8_t> receive(BlockingTlsClient& phone, std::size_t n) {
    std::vector<std::uint8_t> got;
    while (got.size() < n) {
        auto more = phone.receive_some(5s);
        if (more.empty())
            break;
        got.insert(got.end(), more.begin(), more.end());
    }
    return got;
}

/// Milliseconds until the server closes a connection that sends nothing.
long millis_until_closed(int fd, std::chrono::milliseconds limit) {
    const auto start = std::chrono::steady_clock::now();
    pollfd p{fd, POLLIN, 0};
    REQUIRE(::poll(&p, 1, static_cast<int>(limit.count())) == 1);
    char c;
    CHECK(::recv(fd, &c, 1, 0) <= 0);  // EOF or reset, never data
    return static_cast<long>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                 std::chrono::steady_clock::now() - start)
                                 .count());
}

}  // namespace

TEST_CASE("old and new phones complete TLS and reach the session") {
    RunningListener server(PhoneListenerOptions{});
    for (auto tls : {PhoneTls::tls10_rsa, PhoneTls::tls12_ecdhe}) {
        BlockingTlsClient phone("127.0.0.1", server.port(), tls, 5s);
        phone.send(bytes("hello"));
        CHECK(receive(phone, 5) == bytes("hello"));
        phone.close();
    }
    CHECK(server.wait_for([&] { return server.stats().sessions_completed == 2; }));
    CHECK(server.stats().accepted == 2);
}

TEST_CASE("connections above the session limit are closed at once and counted") {
    PhoneListenerOptions options;
    options.max_sessions = 2;
    RunningListener server(options);
    BlockingTlsClient first("127.0.0.1", server.port(), PhoneTls::tls12_ecdhe, 5s);
    BlockingTlsClient second("127.0.0.1", server.port(), PhoneTls::tls12_ecdhe, 5s);
    REQUIRE(server.wait_for([&] { return server.stats().active == 2; }));

    const auto start = std::chrono::steady_clock::now();
    CHECK_THROWS_AS(BlockingTlsClient("127.0.0.1", server.port(), PhoneTls::tls12_ecdhe, 5s),
                    test::TlsClientError);
    // Refused, not queued: a queued client would wait out its 5 s timeout.
    // The margin is for a loaded 2-core machine under ASan.
    CHECK(std::chrono::steady_clock::now() - start < 4s);
    CHECK(server.stats().rejected_over_limit == 1);

    // A slot frees when a phone leaves; the next one is served.
    first.close();
    REQUIRE(server.wait_for([&] { return server.stats().active == 1; }));
    BlockingTlsClient third("127.0.0.1", server.port(), PhoneTls::tls12_ecdhe, 5s);
    third.send(bytes("ok"));
    CHECK(receive(third, 2) == bytes("ok"));
}

TEST_CASE("a source address over its session cap is closed before TLS while its others stay") {
    PhoneListenerOptions options;
    options.max_sessions_per_source = 2;
    RunningListener server(options);
    BlockingTlsClient first("127.0.0.1", server.port(), PhoneTls::tls12_ecdhe, 5s);
    BlockingTlsClient second("127.0.0.1", server.port(), PhoneTls::tls12_ecdhe, 5s);
    REQUIRE(server.wait_for([&] { return server.stats().active == 2; }));

    const auto start = std::chrono::steady_clock::now();
    CHECK_THROWS_AS(BlockingTlsClient("127.0.0.1", server.port(), PhoneTls::tls12_ecdhe, 5s),
                    test::TlsClientError);
    // Closed at accept, not left to time out (margin for a loaded machine).
    CHECK(std::chrono::steady_clock::now() - start < 4s);
    CHECK(server.stats().rejected_per_source == 1);
    CHECK(server.stats().rejected_over_limit == 0);
    CHECK(server.stats().accepted == 2);

    // The first two were not disturbed.
    first.send(bytes("one"));
    CHECK(receive(first, 3) == bytes("one"));
    second.send(bytes("two"));
    CHECK(receive(second, 3) == bytes("two"));

    // When one leaves, the address has room again.
    first.close();
    REQUIRE(server.wait_for([&] { return server.stats().active == 1; }));
    BlockingTlsClient third("127.0.0.1", server.port(), PhoneTls::tls12_ecdhe, 5s);
    third.send(bytes("ok"));
    CHECK(receive(third, 2) == bytes("ok"));
    CHECK(server.stats().rejected_per_source == 1);
}

TEST_CASE("a peer that sends nothing is dropped at the handshake deadline") {
    PhoneListenerOptions options;
    options.handshake_timeout = 300ms;
    RunningListener server(options);
    const int fd = test::connect_tcp("127.0.0.1", server.port(), 5s);
    const long waited = millis_until_closed(fd, 5s);
    ::close(fd);
    CHECK(waited >= 250);
    CHECK(waited < 4000);  // the deadline, not the client's 5 s: loose for loaded machines
    CHECK(server.wait_for([&] { return server.stats().handshake_timeouts == 1; }));
    CHECK(server.wait_for([&] { return server.stats().active == 0; }));
}

TEST_CASE("a peer that does not speak TLS is refused") {
    RunningListener server(PhoneListenerOptions{});
    const int fd = test::connect_tcp("127.0.0.1", server.port(), 5s);
    const std::string http = "GET / HTTP/1.0\r\n\r\n";
    REQUIRE(::send(fd, http.data(), http.size(), MSG_NOSIGNAL) ==
            static_cast<ssize_t>(http.size()));
    CHECK(millis_until_closed(fd, 5s) < 4000);  // refused at once, not at a 30 s deadline
    ::close(fd);
    CHECK(server.wait_for([&] { return server.stats().handshake_failures == 1; }));
    CHECK(server.stats().sessions_completed == 0);
}

namespace {

/// What the message channel threw when the phone went away mid-dialogue.
struct ChannelVerdict {
    std::promise<std::string> thrown;
};

SessionHandler receive_until_gone(std::shared_ptr<ChannelVerdict> verdict) {
    return [verdict](TlsStream& stream, const PeerInfo&) -> asio::awaitable<void> {
        TlsMessageChannel channel(stream, protocol::DecodeLimits{}, 5s);
        std::string what = "nothing";
        try {
            co_await channel.receive(deadline_after(10s));
            what = "a message";
        } catch (const PeerClosed&) {
            what = "PeerClosed";
        } catch (const TimedOut&) {
            what = "TimedOut";
        } catch (const protocol::ProtocolError&) {
            what = "ProtocolError";
        } catch (const std::exception& e) {
            what = std::string("other: ") + e.what();
        }
        verdict->thrown.set_value(what);
    };
}

}  // namespace

/// What the channel threw after the phone, connected over TLS 1.2, vanished
/// the way `vanish` makes it.
std::string thrown_when_phone(const std::function<void(BlockingTlsClient&)>& vanish) {
    auto verdict = std::make_shared<ChannelVerdict>();
    auto thrown = verdict->thrown.get_future();
    RunningListener server(PhoneListenerOptions{}, receive_until_gone(verdict));
    BlockingTlsClient phone("127.0.0.1", server.port(), PhoneTls::tls12_ecdhe, 5s);
    vanish(phone);
    REQUIRE(thrown.wait_for(10s) == std::future_status::ready);
    return thrown.get();
}

TEST_CASE(
    "the message channel turns a vanished phone into PeerClosed, whatever the transport saw") {
    SECTION("a TLS close_notify") {
        CHECK(thrown_when_phone([](BlockingTlsClient& phone) { phone.close(); }) == "PeerClosed");
    }
    SECTION("a fatal TLS alert mid-dialogue") {
        // A plaintext fatal alert (handshake_failure) where encrypted records
        // are due: Botan refuses the record and the session is over.
        const std::vector<std::uint8_t> alert = {0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x28};
        CHECK(thrown_when_phone([&](BlockingTlsClient& phone) { phone.send_raw(alert); }) ==
              "PeerClosed");
    }
    SECTION("a TCP reset mid-dialogue") {
        CHECK(thrown_when_phone([](BlockingTlsClient& phone) { phone.reset(); }) == "PeerClosed");
    }
}

// Issue 13: deadlines from one watchdog timer per stream, not a timer per
// operation; Nagle off on phone sockets.
namespace {

using Clock = std::chrono::steady_clock;

/// What a session handler saw, reported to the test thread.
struct Observed {
    std::promise<std::string> what;
};

long millis_since(Clock::time_point start) {
    return static_cast<long>(
        std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start).count());
}

}  // namespace

TEST_CASE("a read past its deadline times out and the connection stays usable") {
    auto seen = std::make_shared<Observed>();
    auto what = seen->what.get_future();
    RunningListener server(PhoneListenerOptions{},
                           [seen](TlsStream& stream, const PeerInfo&) -> asio::awaitable<void> {
                               const auto start = Clock::now();
                               std::string result = "data";
                               try {
                                   co_await stream.read_some(start + 200ms);
                               } catch (const TimedOut&) {
                                   result =
                                       "timed out after " + std::to_string(millis_since(start));
                               }
                               // As after a key-generation timeout: the dialogue goes on.
                               co_await stream.write(bytes("after"), Clock::now() + 5s);
                               seen->what.set_value(result);
                           });
    BlockingTlsClient phone("127.0.0.1", server.port(), PhoneTls::tls12_ecdhe, 5s);
    CHECK(receive(phone, 5) == bytes("after"));
    REQUIRE(what.wait_for(5s) == std::future_status::ready);
    const std::string result = what.get();
    REQUIRE_THAT(result, Catch::StartsWith("timed out after "));
    const long waited = std::stol(result.substr(16));
    CHECK(waited >= 150);
    CHECK(waited < 4000);  // the deadline, not the 5 s the phone waits
}

TEST_CASE("a shorter deadline after a longer one holds") {
    auto seen = std::make_shared<Observed>();
    auto what = seen->what.get_future();
    RunningListener server(PhoneListenerOptions{},
                           [seen](TlsStream& stream, const PeerInfo&) -> asio::awaitable<void> {
                               co_await stream.write(bytes("x"), Clock::now() + 1h);
                               const auto start = Clock::now();
                               std::string result = "data";
                               try {
                                   co_await stream.read_some(start + 200ms);
                               } catch (const TimedOut&) {
                                   result = std::to_string(millis_since(start));
                               }
                               seen->what.set_value(result);
                           });
    BlockingTlsClient phone("127.0.0.1", server.port(), PhoneTls::tls12_ecdhe, 5s);
    CHECK(receive(phone, 1) == bytes("x"));
    REQUIRE(what.wait_for(5s) == std::future_status::ready);  // not the hour of the write
    const std::string result = what.get();
    REQUIRE(result != "data");
    CHECK(std::stol(result) >= 150);
}

TEST_CASE("a deadline that passes between operations does not cut the next one") {
    auto seen = std::make_shared<Observed>();
    auto what = seen->what.get_future();
    RunningListener server(PhoneListenerOptions{},
                           [seen](TlsStream& stream, const PeerInfo&) -> asio::awaitable<void> {
                               std::string result;
                               try {
                                   auto first = co_await stream.read_some(Clock::now() + 300ms);
                                   // Idle past that deadline, as while the database works.
                                   asio::steady_timer idle(co_await asio::this_coro::executor,
                                                           600ms);
                                   co_await idle.async_wait(asio::use_awaitable);
                                   auto second = co_await stream.read_some(Clock::now() + 5s);
                                   result = std::string(first.begin(), first.end()) +
                                            std::string(second.begin(), second.end());
                               } catch (const std::exception& e) {
                                   result = std::string("threw: ") + e.what();
                               }
                               seen->what.set_value(result);
                           });
    BlockingTlsClient phone("127.0.0.1", server.port(), PhoneTls::tls12_ecdhe, 5s);
    phone.send(bytes("a"));
    std::this_thread::sleep_for(1200ms);
    phone.send(bytes("b"));
    REQUIRE(what.wait_for(5s) == std::future_status::ready);
    CHECK(what.get() == "ab");
}

TEST_CASE("phone connections are accepted with Nagle's algorithm off") {
    auto seen = std::make_shared<Observed>();
    auto what = seen->what.get_future();
    RunningListener server(PhoneListenerOptions{},
                           [seen](TlsStream& stream, const PeerInfo&) -> asio::awaitable<void> {
                               asio::ip::tcp::no_delay option;
                               stream.socket().get_option(option);
                               seen->what.set_value(option.value() ? "no delay" : "nagle");
                               co_return;
                           });
    BlockingTlsClient phone("127.0.0.1", server.port(), PhoneTls::tls12_ecdhe, 5s);
    REQUIRE(what.wait_for(5s) == std::future_status::ready);
    CHECK(what.get() == "no delay");
}

namespace {

/// Connects to `port` on loopback and closes at once: true when the
/// connection was refused (nothing listens there any more).
bool connection_refused(std::uint16_t port) {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return false;
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(port);
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    const bool refused = ::connect(fd, reinterpret_cast<const sockaddr*>(&to), sizeof to) != 0 &&
                         errno == ECONNREFUSED;
    ::close(fd);
    return refused;
}

/// A started listener and its port (which it cannot tell once stopped).
struct ListeningOn {
    ListeningOn(asio::io_context& io, PhoneListenerOptions options, TlsCredentials& creds)
        : listener(io, std::move(options), creds, echo_session) {
        listener.start();
        port = listener.port();
    }
    void stop() { listener.stop(); }
    PhoneListener listener;
    std::uint16_t port = 0;
};

}  // namespace

// On SIGTERM capfd stops the listener from one I/O thread while the accept
// loop may be completing an accept on the other; before the acceptor was
// closed on the loop's strand, the loop then started its next accept on
// descriptor state that close had freed (UBSan saw it once in CI). This
// gives that window many chances: two I/O threads, phones connecting all
// the time, stop() posted to whichever thread takes it. The sanitizer
// build reports the freed state; every build checks the loop really ends.
TEST_CASE("stop() on either I/O thread while phones keep connecting ends the accept loop") {
    const auto& identity = test::TestIdentity::shared();
    TlsCredentials creds(identity.chain, identity.key);
    constexpr int rounds = 250;
    const auto seen = test::stop_while_connecting(
        rounds,
        [&creds](asio::io_context& io) {
            PhoneListenerOptions options;
            options.endpoint = asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0);
            return std::make_unique<ListeningOn>(io, options, creds);
        },
        [](const ListeningOn& server) { return connection_refused(server.port); },
        [](const ListeningOn& server) { return server.listener.stats().accepted.load(); });
    CHECK(seen.refused_after_stop == rounds);
    CHECK(seen.runs_ended == rounds);
}

}  // namespace phone_listener_test_cases
