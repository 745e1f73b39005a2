// One TLS server connection without sockets: bytes from the peer go in,
// bytes for the peer and decrypted application data come out. The coroutine
// that owns the socket moves the bytes (capf/tls_stream.hpp). Botan calls
// our callbacks from inside received_data(); they only queue, so nothing
// re-enters the TLS object.
#pragma once

#include <botan/credentials_manager.h>
#include <botan/pk_keys.h>
#include <botan/rng.h>
#include <botan/tls_callbacks.h>
#include <botan/tls_policy.h>
#include <botan/tls_server.h>
#include <botan/tls_session_manager.h>
#include <botan/x509cert.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

namespace capf {

/// The server's certificate chain and key, shared by every connection.
/// Lifetime: must outlive every TlsServerSession using it.
class TlsCredentials : public Botan::Credentials_Manager {
  public:
    TlsCredentials(std::vector<Botan::X509_Certificate> chain,
                   std::shared_ptr<Botan::Private_Key> key);

    std::vector<Botan::X509_Certificate> cert_chain(const std::vector<std::string>& key_types,
                                                    const std::string& type,
                                                    const std::string& context) override;
    Botan::Private_Key* private_key_for(const Botan::X509_Certificate& cert,
                                        const std::string& type,
                                        const std::string& context) override;

    /// No key of any kind: capfd issues no session tickets and allows no PSK
    /// suites. Botan asks for the ticket key on every handshake, and the
    /// default answer is an exception (a cost of its own per handshake).
    Botan::SymmetricKey psk(const std::string& type, const std::string& context,
                            const std::string& identity) override;

    const std::shared_ptr<Botan::Private_Key>& key() const noexcept { return key_; }

  private:
    std::vector<Botan::X509_Certificate> chain_;
    std::shared_ptr<Botan::Private_Key> key_;
};

/// A TLS failure: the handshake or a record was refused. `alert` is the
/// alert Botan sent or received, for the log.
class TlsError : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

class TlsServerSession : private Botan::TLS::Callbacks {
  public:
    /// Lifetime: credentials, policy and rng must outlive the session.
    TlsServerSession(TlsCredentials& credentials, const Botan::TLS::Policy& policy,
                     Botan::RandomNumberGenerator& rng);
    ~TlsServerSession() override;
    TlsServerSession(const TlsServerSession&) = delete;
    TlsServerSession& operator=(const TlsServerSession&) = delete;

    /// Feeds bytes from the peer. Throws TlsError when the peer breaks TLS
    /// (the alert to send is then already queued in take_outgoing()).
    void received(std::span<const std::uint8_t> bytes);
    /// Encrypts application data for the peer (queued in take_outgoing()).
    void send(std::span<const std::uint8_t> plaintext);
    /// Sends close_notify.
    void close();

    /// Bytes to write to the socket, in order; the buffer is handed over.
    std::vector<std::uint8_t> take_outgoing();
    /// Decrypted application data received so far; handed over.
    std::vector<std::uint8_t> take_incoming();

    bool handshake_complete() const noexcept { return established_; }
    /// The peer sent close_notify or a fatal alert.
    bool peer_closed() const noexcept { return peer_closed_; }
    /// "TLS v1.2 ECDHE_RSA_WITH_AES_128_GCM_SHA256", once established.
    const std::string& negotiated() const noexcept { return negotiated_; }
    /// The last alert received or sent, for logs ("handshake_failure").
    const std::string& last_alert() const noexcept { return last_alert_; }

  private:
    void tls_emit_data(const uint8_t data[], size_t size) override;
    void tls_record_received(uint64_t seq_no, const uint8_t data[], size_t size) override;
    void tls_alert(Botan::TLS::Alert alert) override;
    bool tls_session_established(const Botan::TLS::Session& session) override;
    void tls_session_activated() override { established_ = true; }
    /// The handshake's signature by this thread's cached signer for the
    /// CAPF key (ca/signer_cache.hpp): Botan's default sets up a new signer,
    /// and with it the key's blinding, for every handshake.
    std::vector<uint8_t> tls_sign_message(const Botan::Private_Key& key,
                                          Botan::RandomNumberGenerator& rng,
                                          const std::string& emsa, Botan::Signature_Format format,
                                          const std::vector<uint8_t>& msg) override;

    TlsCredentials& credentials_;
    Botan::TLS::Session_Manager_Noop sessions_;
    std::vector<std::uint8_t> outgoing_;
    std::vector<std::uint8_t> incoming_;
    bool established_ = false;
    bool peer_closed_ = false;
    std::string negotiated_;
    std::string last_alert_;
    std::unique_ptr<Botan::TLS::Server> server_;
};

}  // namespace capf
