// A blocking TLS client over TCP for tests and the phone simulator: what a
// phone's TLS stack does, on plain sockets with timeouts.
#pragma once

#include <botan/tls_policy.h>
#include <botan/x509cert.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

namespace capf::test {

/// What the client offers, like the two generations of phones.
enum class PhoneTls {
    tls10_rsa,    ///< 7940/7960 class: TLS 1.0, RSA key exchange, AES-128-CBC-SHA
    tls12_ecdhe,  ///< newer phones: TLS 1.2, ECDHE, AEAD
};

/// The TLS policy such a phone uses (also handy for in-memory TLS tests).
std::unique_ptr<Botan::TLS::Policy> make_phone_tls_policy(PhoneTls tls);

class TlsClientError : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

class BlockingTlsClient {
  public:
    /// Connects and completes the handshake. When `trusted` is set, the
    /// server's certificate must be it (as a phone pins CAPF via its ITL).
    /// Throws TlsClientError on any failure, saying which step failed.
    BlockingTlsClient(const std::string& host, std::uint16_t port, PhoneTls tls,
                      std::chrono::milliseconds timeout,
                      std::optional<Botan::X509_Certificate> trusted = std::nullopt);
    ~BlockingTlsClient();
    BlockingTlsClient(const BlockingTlsClient&) = delete;
    BlockingTlsClient& operator=(const BlockingTlsClient&) = delete;

    /// Encrypts and sends; one call is one TLS record.
    void send(std::span<const std::uint8_t> plaintext);
    /// Sends raw bytes on the TCP socket, bypassing TLS (misbehaving peers).
    void send_raw(std::span<const std::uint8_t> bytes);
    /// Decrypted bytes, or an empty vector once the server closed.
    /// Throws TlsClientError on timeout.
    std::vector<std::uint8_t> receive_some(std::chrono::milliseconds timeout);
    void close();
    /// Drops the connection with a TCP reset and no close_notify, as a phone
    /// that loses power or its network does.
    void reset();

    /// e.g. "TLS v1.0 RSA_WITH_AES_128_CBC_SHA".
    const std::string& negotiated() const;

  private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

/// Opens a TCP connection and nothing else (a peer that never speaks).
/// Returns the socket fd; the caller closes it.
int connect_tcp(const std::string& host, std::uint16_t port, std::chrono::milliseconds timeout);

}  // namespace capf::test
