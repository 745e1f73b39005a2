// One simulated phone session for capf-load: connect from a loopback source
// address, TLS, the CAPF dialogue of protocol/README.md section 5 as a phone
// speaks it, and what came of it. A session never throws: every failure is
// a Result with the kind of error.
#pragma once

#include <asio/awaitable.hpp>
#include <asio/ip/tcp.hpp>
#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "tests/load/tls_client.hpp"

namespace capf::load {

/// What a session does, and so what it expects to hear.
enum class Kind {
    install,     ///< null string; stores the LSC; END_SESSION 1
    park,        ///< answers KEY_GEN_REQUEST with REQUEST_IN_PROGRESS and holds
    fetch,       ///< returns the LSC it holds; END_SESSION 0
    remove,      ///< deletes its LSC; END_SESSION 1
    unknown,     ///< a name capfd does not know; END_SESSION 9
    wrong_auth,  ///< a wrong auth string; END_SESSION 7
    brute,       ///< a guessed 6-digit auth string, from one source; END_SESSION 7
};
const char* kind_name(Kind kind) noexcept;

struct Plan {
    Kind kind = Kind::install;
    std::string device;
    std::size_t key = 0;  ///< index into PhoneContext::public_keys
    /// fetch: the certificate to return (the one installed before).
    std::vector<std::uint8_t> lsc;
    unsigned attempt = 1;
};

struct Result {
    Plan plan;
    bool ok = false;    ///< the session ended as its kind expects
    std::string error;  ///< when not ok: "connect", "tls", "closed", "timeout", "end_7", ...
    std::string detail;
    int end_reason = -1;  ///< END_SESSION's reason, -1 when none arrived
    double latency_ms = 0;
    /// The LSC the phone stored in this session, if any, and whether the
    /// server then confirmed the session with END_SESSION 1.
    std::optional<std::vector<std::uint8_t>> stored;
    bool parked = false;  ///< park: it reached REQUEST_IN_PROGRESS
};

/// What every session shares. Single-threaded: one io_context runs them all.
struct PhoneContext {
    asio::ip::tcp::endpoint server;
    const Botan::TLS::Policy* policy = nullptr;
    Botan::RandomNumberGenerator* rng = nullptr;
    const Botan::X509_Certificate* pinned = nullptr;
    /// The pool of pre-generated phone keys (DER SubjectPublicKeyInfo).
    std::vector<std::vector<std::uint8_t>> public_keys;
    /// What KEY_GEN_REQUEST must ask for: "rsa" + bits, or the curve index.
    bool rsa_keys = true;
    unsigned rsa_bits = 2048;
    unsigned curve = 0;
    std::chrono::milliseconds timeout{60000};
    /// Parked sessions and their "released" flags, so release_parked()
    /// can end them.
    std::map<TlsClient*, bool*> parked;
};

/// Runs one session of `plan` from `source` (a loopback address, or
/// unspecified for the default).
asio::awaitable<Result> run_phone_session(PhoneContext& ctx, Plan plan, asio::ip::address source);

/// Ends every parked session (their results say parked and ok).
void release_parked(PhoneContext& ctx);

/// A TCP connection to `server` from `source` (unspecified: the system's
/// choice), with TCP_NODELAY. Throws LinkError("connect").
asio::awaitable<asio::ip::tcp::socket> connect(const asio::ip::tcp::endpoint& server,
                                               const asio::ip::address& source);

/// A TCP connection that never speaks: returns the seconds until capfd
/// closed it, or nothing when it was still open at `give_up`.
asio::awaitable<std::optional<double>> run_idle_connection(
    const asio::ip::tcp::endpoint& server, asio::ip::address source,
    std::chrono::steady_clock::time_point give_up, bool& connected);

}  // namespace capf::load
