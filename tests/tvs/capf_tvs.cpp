// capf-tvs: the phone side of the Trust Verification Service
// (protocol/README.md, section 11) over TLS, for tests and for trying a TVS
// by hand. By default it behaves like a phone: one connection, one
// VERIFY_REQUEST (header and body in one TLS record), one answer. Flags make
// it misbehave, to check that a server survives what the known open
// implementation does not (a header split across records, a silent peer, a
// peer that never starts TLS). It uses the TLS client of capf-phone
// (tests/phone/blocking_tls_client) and the TVS codec (protocol/tvs_message).
//
// Exit status: see kExitCodes below (printed by --help).
#include <botan/auto_rng.h>
#include <botan/x509cert.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <iostream>
#include <random>
#include <thread>

#include "protocol/tvs_message.hpp"
#include "tests/phone/blocking_tls_client.hpp"

using namespace capf;
namespace tvs = capf::protocol::tvs;
using Clock = std::chrono::steady_clock;

namespace {

constexpr int exit_valid = 0;      ///< every answer valid, or the server closed as expected
constexpr int exit_invalid = 1;    ///< well-formed answers, at least one status=invalid
constexpr int exit_usage = 2;      ///< bad options, unreadable certificate
constexpr int exit_no_answer = 3;  ///< connect or TLS failed, closed or timed out before an answer
constexpr int exit_malformed = 4;  ///< an answer the codec refuses, or a wrong session id echo
constexpr int exit_kept_open = 5;  ///< --silent/--garbage: the server did not close in time

constexpr const char* kExitCodes = R"(Exit status:
  0  every answer was valid (--silent, --garbage: the server closed the connection;
     --no-tls: every connection was opened and held or closed by the server)
  1  every answer was well formed, at least one was status=invalid
  2  usage error, or the certificate could not be read
  3  no answer: connect or TLS failed, or the server closed or went silent before answering
  4  a malformed answer, or one that did not echo its request's session id
  5  --silent, --garbage: the server kept the connection open (or answered garbage)

Output: one line per answer on stdout, "status=valid roles=1,7 ttl=86400" (ttl=none when
the answer has no TTL) or "status=invalid"; --silent and --garbage print
"closed_after_s=S" or "still_open_after_s=S" (or "answered"); --no-tls prints
"connections=N closed_by_server=K [closed_after_s=MIN/P50/MAX]". Errors go to stderr.)";

struct Options {
    std::string host = "127.0.0.1";
    std::uint16_t port = 2445;
    std::string cert;
    std::string device = "CP-8845-SEP001122AABBCC";
    std::string trust;
    std::string tls = "tls12";
    std::size_t count = 1;
    std::optional<std::uint32_t> session_id;
    int timeout_ms = 10000;
    double hold_seconds = 30;
    bool split_header = false;
    /// --split-header: pause between the one-byte records (a slow client).
    int split_delay_ms = 0;
    bool silent = false;
    bool garbage = false;
    bool wrong_session_id = false;
    bool no_tls = false;
};

/// Ends the run with an exit status and a line for stderr.
class Stop : public std::runtime_error {
  public:
    Stop(int code, const std::string& what) : std::runtime_error(what), exit_code(code) {}
    int exit_code;
};

double seconds_since(Clock::time_point t) {
    return std::chrono::duration<double>(Clock::now() - t).count();
}

std::string format_seconds(double s) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.2f", s);
    return buf;
}

std::string answer_line(const tvs::VerifyResponse& a) {
    if (!a.valid())
        return "status=invalid";
    std::string roles;
    for (std::size_t i = 0; i < a.roles.size(); ++i)
        roles += (i == 0 ? "" : ",") + std::to_string(a.roles[i]);
    return "status=valid roles=" + roles +
           " ttl=" + (a.ttl_seconds ? std::to_string(*a.ttl_seconds) : std::string("none"));
}

class TvsClient {
  public:
    explicit TvsClient(const Options& o) : o_(o) {}

    int run() {
        if (o_.no_tls)
            return hold_plain_connections();
        if (o_.silent || o_.garbage)
            return misbehave_on_each_connection();
        const auto der = load_certificate();
        connect();
        if (o_.wrong_session_id)
            return pipelined_pair(der);
        return one_after_another(der);
    }

  private:
    std::vector<std::uint8_t> load_certificate() const {
        if (o_.cert.empty())
            throw Stop(exit_usage, "--cert FILE is required (PEM or DER)");
        try {
            return Botan::X509_Certificate(o_.cert).BER_encode();
        } catch (const std::exception& e) {
            throw Stop(exit_usage, "cannot read a certificate from " + o_.cert + ": " + e.what());
        }
    }

    void connect() {
        std::optional<Botan::X509_Certificate> trusted;
        if (!o_.trust.empty()) {
            try {
                trusted.emplace(o_.trust);
            } catch (const std::exception& e) {
                throw Stop(exit_usage, "cannot read --trust " + o_.trust + ": " + e.what());
            }
        }
        const auto tls =
            o_.tls == "legacy" ? test::PhoneTls::tls10_rsa : test::PhoneTls::tls12_ecdhe;
        try {
            client_ = std::make_unique<test::BlockingTlsClient>(o_.host, o_.port, tls, timeout(),
                                                                trusted);
        } catch (const test::TlsClientError& e) {
            throw Stop(exit_no_answer, e.what());
        }
        connected_at_ = Clock::now();
    }

    std::chrono::milliseconds timeout() const { return std::chrono::milliseconds(o_.timeout_ms); }

    std::uint32_t first_session_id() {
        if (o_.session_id)
            return *o_.session_id;
        std::random_device random;
        return static_cast<std::uint32_t>(random());
    }

    /// One record, as a phone sends it; --split-header: one byte per record.
    void send(const std::vector<std::uint8_t>& bytes) {
        try {
            if (!o_.split_header) {
                client_->send(bytes);
                return;
            }
            for (std::size_t i = 0; i < bytes.size(); ++i) {
                if (i > 0 && o_.split_delay_ms > 0)
                    std::this_thread::sleep_for(std::chrono::milliseconds(o_.split_delay_ms));
                client_->send(std::span(bytes).subspan(i, 1));
            }
        } catch (const test::TlsClientError& e) {
            throw Stop(exit_no_answer, e.what());
        }
    }

    /// The next answer; Stop(3) when none comes, Stop(4) when it is malformed.
    tvs::VerifyResponse read_answer() {
        const auto deadline = Clock::now() + timeout();
        for (;;) {
            auto next = reader_.next();
            if (auto* m = std::get_if<tvs::Message>(&next))
                return std::get<tvs::VerifyResponse>(std::move(*m));
            if (auto* e = std::get_if<tvs::Error>(&next))
                throw Stop(exit_malformed, "malformed answer: " + e->message());
            const auto left =
                std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
            if (left.count() <= 0)
                throw Stop(exit_no_answer,
                           "no answer within " + std::to_string(o_.timeout_ms) + " ms");
            std::vector<std::uint8_t> data;
            try {
                data = client_->receive_some(left);
            } catch (const test::TlsClientError& e) {
                throw Stop(exit_no_answer, e.what());
            }
            if (data.empty())
                throw Stop(exit_no_answer, "the server closed the connection without an answer");
            reader_.feed(data);
        }
    }

    /// Prints the answer; Stop(4) when it does not echo `sid`.
    bool report(const tvs::VerifyResponse& a, std::uint32_t sid) {
        std::cout << answer_line(a) << std::endl;
        if (a.session_id != sid) {
            char buf[96];
            std::snprintf(buf, sizeof buf, "the answer echoes session id 0x%08x, not 0x%08x",
                          a.session_id, sid);
            throw Stop(exit_malformed, buf);
        }
        return a.valid();
    }

    /// --count requests on this connection, each after the previous answer,
    /// session ids first, first+1, ...
    int one_after_another(const std::vector<std::uint8_t>& der) {
        const std::uint32_t first = first_session_id();
        bool all_valid = true;
        for (std::size_t i = 0; i < o_.count; ++i) {
            const auto sid = static_cast<std::uint32_t>(first + i);
            send(tvs::encode(tvs::VerifyRequest{sid, o_.device, der}));
            all_valid = report(read_answer(), sid) && all_valid;
        }
        client_->close();
        return all_valid ? exit_valid : exit_invalid;
    }

    /// --wrong-session-id: two requests with different session ids written
    /// together (one record) before any answer; each answer, in order, must
    /// echo its own request's id.
    int pipelined_pair(const std::vector<std::uint8_t>& der) {
        const std::uint32_t first = first_session_id();
        const std::uint32_t second = ~first;
        auto both = tvs::encode(tvs::VerifyRequest{first, o_.device, der});
        const auto other = tvs::encode(tvs::VerifyRequest{second, o_.device, der});
        both.insert(both.end(), other.begin(), other.end());
        send(both);
        bool all_valid = report(read_answer(), first);
        all_valid = report(read_answer(), second) && all_valid;
        client_->close();
        return all_valid ? exit_valid : exit_invalid;
    }

    /// Random bytes that cannot begin a TVS frame (the first is not 87), so
    /// the server has nothing to wait for.
    std::vector<std::uint8_t> garbage() {
        std::vector<std::uint8_t> bytes(64);
        rng_.randomize(bytes.data(), bytes.size());
        if (bytes[0] == tvs::protocol_id)
            bytes[0] = 0xEE;
        return bytes;
    }

    /// --silent and --garbage: --count connections one after the other, each
    /// of which the server must close; stops at the first it does not.
    int misbehave_on_each_connection() {
        for (std::size_t i = 0; i < o_.count; ++i) {
            connect();
            const int status = wait_for_close(o_.garbage ? garbage() : std::vector<std::uint8_t>{});
            if (status != exit_valid)
                return status;
        }
        return exit_valid;
    }

    /// --silent (send nothing) and --garbage: the server must close.
    int wait_for_close(const std::vector<std::uint8_t>& first_words) {
        if (!first_words.empty())
            send(first_words);
        const auto deadline = connected_at_ + timeout();
        for (;;) {
            const auto left =
                std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
            if (left.count() <= 0)
                break;
            std::vector<std::uint8_t> data;
            try {
                data = client_->receive_some(left);
            } catch (const test::TlsClientError&) {
                if (Clock::now() >= deadline)
                    break;
                data.clear();  // a fatal alert or a reset: the server ended it
            }
            if (data.empty()) {
                std::cout << "closed_after_s=" << format_seconds(seconds_since(connected_at_))
                          << std::endl;
                return exit_valid;
            }
            std::cout << "answered" << std::endl;
            return exit_kept_open;
        }
        std::cout << "still_open_after_s=" << format_seconds(seconds_since(connected_at_))
                  << std::endl;
        return exit_kept_open;
    }

    /// --no-tls: --count TCP connections that never start TLS, held for
    /// --hold-seconds; reports how many the server closed, and when.
    int hold_plain_connections() {
        std::vector<pollfd> fds;
        std::vector<double> closed_after;
        const auto start = Clock::now();
        try {
            for (std::size_t i = 0; i < o_.count; ++i)
                fds.push_back({test::connect_tcp(o_.host, o_.port, timeout()), POLLIN, 0});
        } catch (const test::TlsClientError& e) {
            for (auto& p : fds)
                ::close(p.fd);
            throw Stop(exit_no_answer, e.what());
        }
        const auto until = start + std::chrono::duration_cast<Clock::duration>(
                                       std::chrono::duration<double>(o_.hold_seconds));
        std::size_t open = fds.size();
        while (open > 0 && Clock::now() < until) {
            const auto left =
                std::chrono::duration_cast<std::chrono::milliseconds>(until - Clock::now());
            if (::poll(fds.data(), fds.size(), static_cast<int>(std::max<long>(left.count(), 1))) <=
                0)
                continue;
            for (auto& p : fds) {
                if (p.fd < 0 || p.revents == 0)
                    continue;
                std::uint8_t buf[256];
                if (::recv(p.fd, buf, sizeof buf, 0) > 0)
                    continue;  // the server spoke (an alert); keep waiting for the close
                closed_after.push_back(seconds_since(start));
                ::close(p.fd);
                p.fd = -1;  // poll ignores negative descriptors
                --open;
            }
        }
        for (auto& p : fds)
            if (p.fd >= 0)
                ::close(p.fd);
        std::cout << "connections=" << fds.size() << " closed_by_server=" << closed_after.size();
        if (!closed_after.empty()) {
            std::sort(closed_after.begin(), closed_after.end());
            std::cout << " closed_after_s=" << format_seconds(closed_after.front()) << "/"
                      << format_seconds(closed_after[closed_after.size() / 2]) << "/"
                      << format_seconds(closed_after.back());
        }
        std::cout << std::endl;
        return exit_valid;
    }

    const Options& o_;
    Botan::AutoSeeded_RNG rng_;
    std::unique_ptr<test::BlockingTlsClient> client_;
    tvs::FrameReader reader_{tvs::Limits{}, tvs::Command::verify_response};
    Clock::time_point connected_at_;
};

}  // namespace

int main(int argc, char** argv) {
    Options o;
    CLI::App app{
        "capf-tvs: a phone asking a Trust Verification Service (TVS) about a certificate, over "
        "TLS; for tests and trials (protocol/README.md, section 11)"};
    app.footer(kExitCodes);
    app.add_option("--host", o.host, "TVS address")->capture_default_str();
    app.add_option("--port", o.port, "TVS port")->capture_default_str();
    app.add_option("--cert", o.cert, "The certificate to verify (PEM or DER)");
    app.add_option("--device", o.device, "Device name sent with the request")
        ->capture_default_str();
    app.add_option("--trust", o.trust,
                   "Trust only this server certificate (PEM, the ITL's TVS); without it ANY "
                   "server certificate is accepted");
    app.add_option("--tls", o.tls, "tls12 (ECDHE, AEAD) or legacy (TLS 1.0 RSA AES128-SHA)")
        ->check(CLI::IsMember({"tls12", "legacy"}))
        ->capture_default_str();
    app.add_option("--count", o.count,
                   "Requests on one connection, one after the other (a phone sends one); with "
                   "--silent or --garbage, connections one after the other, each of which the "
                   "server must close; with --no-tls, connections to hold")
        ->check(CLI::PositiveNumber)
        ->capture_default_str();
    app.add_option("--session-id", o.session_id,
                   "Session id of the first request (default random)");
    app.add_option("--timeout-ms", o.timeout_ms,
                   "How long to wait for the connection, each answer, or (--silent, --garbage) "
                   "the close")
        ->check(CLI::PositiveNumber)
        ->capture_default_str();
    app.add_option("--hold-seconds", o.hold_seconds, "--no-tls: how long to hold the connections")
        ->capture_default_str();
    app.add_flag("--split-header", o.split_header,
                 "Misbehave: send the request one byte per TLS record");
    app.add_option("--split-delay-ms", o.split_delay_ms,
                   "--split-header: milliseconds between the one-byte records")
        ->check(CLI::NonNegativeNumber)
        ->capture_default_str();
    app.add_flag("--silent", o.silent,
                 "Misbehave: complete TLS, send nothing, report when the server closes");
    app.add_flag("--garbage", o.garbage,
                 "Misbehave: send 64 random bytes (not starting with 87) instead of a request; "
                 "the server must close");
    app.add_flag("--wrong-session-id", o.wrong_session_id,
                 "Send two requests with different session ids in one record before reading; "
                 "each answer must echo its own request's id, in order");
    app.add_flag("--no-tls", o.no_tls,
                 "Misbehave: open --count plain TCP connections, never start TLS, hold them "
                 "--hold-seconds and report when the server closes them");
    CLI11_PARSE(app, argc, argv);
    if (o.silent + o.garbage + o.wrong_session_id + o.no_tls > 1) {
        std::cerr << "capf-tvs: --silent, --garbage, --wrong-session-id and --no-tls exclude "
                     "each other\n";
        return exit_usage;
    }
    try {
        return TvsClient(o).run();
    } catch (const Stop& e) {
        std::cerr << "capf-tvs: " << e.what() << std::endl;
        return e.exit_code;
    } catch (const std::exception& e) {
        std::cerr << "capf-tvs: " << e.what() << std::endl;
        return exit_usage;
    }
}
