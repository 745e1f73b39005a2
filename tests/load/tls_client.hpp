// The phone side of TLS for capf-load: a Botan TLS client driven by one
// coroutine over an Asio socket, so that thousands of simulated phones
// share one thread. Same shape as capf/tls: Botan's callbacks only queue
// bytes, and the coroutine moves them.
#pragma once

#include <botan/credentials_manager.h>
#include <botan/rng.h>
#include <botan/tls_callbacks.h>
#include <botan/tls_client.h>
#include <botan/tls_policy.h>
#include <botan/tls_session_manager.h>
#include <botan/x509cert.h>

#include <asio/awaitable.hpp>
#include <asio/ip/tcp.hpp>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

namespace capf::load {

/// The connection failed: refused, reset, closed early, or TLS refused.
/// `kind` is a short word for the report ("connect", "tls", "closed").
class LinkError : public std::runtime_error {
  public:
    LinkError(std::string kind, const std::string& what)
        : std::runtime_error(what), kind_(std::move(kind)) {}
    const std::string& kind() const noexcept { return kind_; }

  private:
    std::string kind_;
};

/// One TLS connection to capfd. Not thread-safe: one coroutine drives it.
/// Lifetime: `policy` (a phone's, tests/phone/blocking_tls_client.hpp),
/// `rng` and `pinned` must outlive the client.
class TlsClient : private Botan::TLS::Callbacks {
  public:
    /// `pinned`: the server's certificate must be this one (a phone trusts
    /// CAPF through its ITL); null accepts any.
    TlsClient(asio::ip::tcp::socket socket, const Botan::TLS::Policy& policy,
              Botan::RandomNumberGenerator& rng, const Botan::X509_Certificate* pinned);
    ~TlsClient() override;
    TlsClient(const TlsClient&) = delete;
    TlsClient& operator=(const TlsClient&) = delete;

    /// Throws LinkError("tls" | "closed").
    asio::awaitable<void> handshake();
    /// Encrypts and writes; one call is one record. Throws LinkError("closed").
    asio::awaitable<void> write(std::span<const std::uint8_t> plaintext);
    /// Decrypted bytes; empty once the server closed. Throws LinkError.
    asio::awaitable<std::vector<std::uint8_t>> read_some();
    /// Closes the socket at once, without close_notify: pending reads end.
    void abort() noexcept;
    /// close_notify, then the socket is closed.
    asio::awaitable<void> shutdown();

    asio::ip::tcp::socket& socket() noexcept { return socket_; }

  private:
    void tls_emit_data(const uint8_t data[], size_t size) override;
    void tls_record_received(uint64_t seq_no, const uint8_t data[], size_t size) override;
    void tls_alert(Botan::TLS::Alert alert) override;
    bool tls_session_established(const Botan::TLS::Session& session) override;
    void tls_session_activated() override { active_ = true; }
    void tls_verify_cert_chain(const std::vector<Botan::X509_Certificate>& chain,
                               const std::vector<std::shared_ptr<const Botan::OCSP::Response>>&,
                               const std::vector<Botan::Certificate_Store*>&, Botan::Usage_Type,
                               const std::string&, const Botan::TLS::Policy&) override;

    asio::awaitable<void> flush();
    /// Reads from the socket into Botan; false at end of stream.
    asio::awaitable<bool> pump();

    asio::ip::tcp::socket socket_;
    const Botan::TLS::Policy& policy_;
    Botan::RandomNumberGenerator& rng_;
    const Botan::X509_Certificate* pinned_;
    Botan::Credentials_Manager no_credentials_;
    Botan::TLS::Session_Manager_Noop sessions_;
    std::vector<std::uint8_t> outgoing_;
    std::vector<std::uint8_t> incoming_;
    bool active_ = false;
    bool closed_ = false;
    std::string alert_;
    std::unique_ptr<Botan::TLS::Client> client_;
};

}  // namespace capf::load
