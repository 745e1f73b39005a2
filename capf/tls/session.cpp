#include "capf/tls/session.hpp"

#include <botan/tls_exceptn.h>

#include "ca/signer_cache.hpp"

namespace capf {

TlsCredentials::TlsCredentials(std::vector<Botan::X509_Certificate> chain,
                               std::shared_ptr<Botan::Private_Key> key)
    : chain_(std::move(chain)), key_(std::move(key)) {
    if (chain_.empty() || !key_) {
        throw std::invalid_argument("TLS credentials need a certificate chain and its private key");
    }
}

std::vector<Botan::X509_Certificate> TlsCredentials::cert_chain(
    const std::vector<std::string>& key_types, const std::string& type, const std::string&) {
    if (type != "tls-server") {
        return {};
    }
    const std::string algo = key_->algo_name();
    for (const auto& kt : key_types) {
        if (kt == algo) {
            return chain_;
        }
    }
    return {};
}

Botan::Private_Key* TlsCredentials::private_key_for(const Botan::X509_Certificate& cert,
                                                    const std::string&, const std::string&) {
    return cert == chain_.front() ? key_.get() : nullptr;
}

Botan::SymmetricKey TlsCredentials::psk(const std::string&, const std::string&,
                                        const std::string&) {
    return Botan::SymmetricKey();
}

TlsServerSession::TlsServerSession(TlsCredentials& credentials, const Botan::TLS::Policy& policy,
                                   Botan::RandomNumberGenerator& rng)
    // Botan reserves 16 KB for each of its read and write buffers by
    // default; CAPF messages are small and thousands of sessions wait in key
    // generation at once, so the buffers start small and grow if needed.
    : credentials_(credentials),
      server_(std::make_unique<Botan::TLS::Server>(static_cast<Botan::TLS::Callbacks&>(*this),
                                                   sessions_, credentials, policy, rng,
                                                   /*is_datagram=*/false,
                                                   /*reserved_io_buffer_size=*/512)) {}

TlsServerSession::~TlsServerSession() = default;

void TlsServerSession::received(std::span<const std::uint8_t> bytes) {
    try {
        server_->received_data(bytes.data(), bytes.size());
    } catch (const Botan::TLS::TLS_Exception& e) {
        last_alert_ = Botan::TLS::Alert(e.type()).type_string();
        throw TlsError(std::string("TLS refused: ") + e.what());
    } catch (const std::exception& e) {
        throw TlsError(std::string("TLS failure: ") + e.what());
    }
}

void TlsServerSession::send(std::span<const std::uint8_t> plaintext) {
    if (!server_->is_active()) {
        throw TlsError("TLS session is not established");
    }
    server_->send(plaintext.data(), plaintext.size());
}

void TlsServerSession::close() {
    if (!server_->is_closed()) {
        server_->close();
    }
}

std::vector<std::uint8_t> TlsServerSession::take_outgoing() {
    std::vector<std::uint8_t> out;
    out.swap(outgoing_);
    return out;
}

std::vector<std::uint8_t> TlsServerSession::take_incoming() {
    std::vector<std::uint8_t> in;
    in.swap(incoming_);
    return in;
}

void TlsServerSession::tls_emit_data(const uint8_t data[], size_t size) {
    outgoing_.insert(outgoing_.end(), data, data + size);
}

void TlsServerSession::tls_record_received(uint64_t, const uint8_t data[], size_t size) {
    incoming_.insert(incoming_.end(), data, data + size);
}

void TlsServerSession::tls_alert(Botan::TLS::Alert alert) {
    last_alert_ = alert.type_string();
    if (alert.type() == Botan::TLS::Alert::CLOSE_NOTIFY || alert.is_fatal()) {
        peer_closed_ = true;
    }
}

std::vector<uint8_t> TlsServerSession::tls_sign_message(const Botan::Private_Key& key,
                                                        Botan::RandomNumberGenerator& rng,
                                                        const std::string& emsa,
                                                        Botan::Signature_Format format,
                                                        const std::vector<uint8_t>& msg) {
    if (&key != credentials_.key().get())  // not ours to cache: Botan's way
        return Botan::TLS::Callbacks::tls_sign_message(key, rng, emsa, format, msg);
    return ca::sign_with_cached_signer(credentials_.key(), emsa, msg, rng, format);
}

bool TlsServerSession::tls_session_established(const Botan::TLS::Session& session) {
    negotiated_ = session.version().to_string() + " " + session.ciphersuite().to_string();
    return false;  // nothing to cache: Session_Manager_Noop
}

}  // namespace capf
