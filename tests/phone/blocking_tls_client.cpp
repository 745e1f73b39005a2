#include "tests/phone/blocking_tls_client.hpp"

#include <arpa/inet.h>
#include <botan/auto_rng.h>
#include <botan/credentials_manager.h>
#include <botan/tls_client.h>
#include <botan/tls_exceptn.h>
#include <botan/tls_policy.h>
#include <botan/tls_session_manager.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace capf::test {
namespace {

class OldPhonePolicy : public Botan::TLS::Policy {
  public:
    std::vector<std::string> allowed_ciphers() const override { return {"AES-128"}; }
    std::vector<std::string> allowed_macs() const override { return {"SHA-1"}; }
    std::vector<std::string> allowed_key_exchange_methods() const override { return {"RSA"}; }
    std::vector<std::string> allowed_signature_methods() const override { return {"IMPLICIT"}; }
    bool allow_tls10() const override { return true; }
    bool allow_tls11() const override { return false; }
    bool allow_tls12() const override { return false; }
    Botan::TLS::Protocol_Version latest_supported_version(bool) const override {
        return Botan::TLS::Protocol_Version::TLS_V10;
    }
};

class NewPhonePolicy : public Botan::TLS::Policy {
  public:
    std::vector<std::string> allowed_key_exchange_methods() const override { return {"ECDH"}; }
    std::vector<std::string> allowed_macs() const override { return {"AEAD"}; }
    bool allow_tls10() const override { return false; }
    bool allow_tls11() const override { return false; }
};

class NoCredentials : public Botan::Credentials_Manager {};

}  // namespace

std::unique_ptr<Botan::TLS::Policy> make_phone_tls_policy(PhoneTls tls) {
    if (tls == PhoneTls::tls10_rsa) {
        return std::make_unique<OldPhonePolicy>();
    }
    return std::make_unique<NewPhonePolicy>();
}

int connect_tcp(const std::string& host, std::uint16_t port, std::chrono::milliseconds timeout) {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* found = nullptr;
    if (::getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &found) != 0 ||
        found == nullptr) {
        throw TlsClientError("cannot resolve " + host);
    }
    const int fd = ::socket(found->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    timeval tv{};
    tv.tv_sec = static_cast<time_t>(timeout.count() / 1000);
    tv.tv_usec = static_cast<suseconds_t>((timeout.count() % 1000) * 1000);
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    const int rc = ::connect(fd, found->ai_addr, found->ai_addrlen);
    const int err = errno;
    ::freeaddrinfo(found);
    if (rc != 0) {
        ::close(fd);
        throw TlsClientError("connect to " + host + ":" + std::to_string(port) + ": " +
                             std::strerror(err));
    }
    return fd;
}

struct BlockingTlsClient::Impl : Botan::TLS::Callbacks {
    int fd = -1;
    std::unique_ptr<Botan::TLS::Policy> policy;
    NoCredentials creds;
    Botan::AutoSeeded_RNG rng;
    Botan::TLS::Session_Manager_Noop sessions;
    std::optional<Botan::X509_Certificate> trusted;
    std::unique_ptr<Botan::TLS::Client> client;
    std::vector<std::uint8_t> plaintext;
    bool active = false;
    bool closed = false;
    std::string negotiated;
    std::string write_error;

    /// Set while TLS handles what arrived: what it answers (a handshake
    /// flight: ClientKeyExchange, ChangeCipherSpec, Finished) goes out in one
    /// write, as a phone's TLS stack sends a flight. Written one record at a
    /// time, the flight met Nagle's algorithm and the server's delayed ACK:
    /// 40 ms lost in every handshake.
    bool holding = false;
    std::vector<std::uint8_t> held;

    void tls_emit_data(const uint8_t data[], size_t size) override {
        if (holding) {
            held.insert(held.end(), data, data + size);
            return;
        }
        write_all(data, size);
    }
    void write_all(const uint8_t data[], size_t size) {
        while (size > 0) {
            const ssize_t n = ::send(fd, data, size, MSG_NOSIGNAL);
            if (n <= 0) {
                if (n < 0 && errno == EINTR)
                    continue;
                write_error = std::strerror(errno);
                return;
            }
            data += n;
            size -= static_cast<std::size_t>(n);
        }
    }
    void tls_record_received(uint64_t, const uint8_t data[], size_t size) override {
        plaintext.insert(plaintext.end(), data, data + size);
    }
    void tls_alert(Botan::TLS::Alert alert) override {
        if (alert.type() == Botan::TLS::Alert::CLOSE_NOTIFY || alert.is_fatal()) {
            closed = true;
        }
    }
    bool tls_session_established(const Botan::TLS::Session& session) override {
        negotiated = session.version().to_string() + " " + session.ciphersuite().to_string();
        return false;
    }
    void tls_session_activated() override { active = true; }
    void tls_verify_cert_chain(const std::vector<Botan::X509_Certificate>& chain,
                               const std::vector<std::shared_ptr<const Botan::OCSP::Response>>&,
                               const std::vector<Botan::Certificate_Store*>&, Botan::Usage_Type,
                               const std::string&, const Botan::TLS::Policy&) override {
        // A phone trusts exactly the CAPF certificate of its ITL/CTL.
        if (trusted && (chain.empty() || !(chain.front() == *trusted))) {
            throw Botan::TLS::TLS_Exception(
                Botan::TLS::Alert::BAD_CERTIFICATE,
                "server certificate is not the trusted CAPF certificate");
        }
    }

    /// Reads once from the socket into TLS. Returns false on EOF.
    bool pump(std::chrono::milliseconds timeout) {
        pollfd p{fd, POLLIN, 0};
        const int ready = ::poll(&p, 1, static_cast<int>(timeout.count()));
        if (ready == 0) {
            throw TlsClientError("timed out waiting for the server");
        }
        std::uint8_t buf[16 * 1024];
        const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
        if (n <= 0) {
            closed = true;
            return false;
        }
        struct Release {
            Impl& impl;
            ~Release() {
                impl.holding = false;
                std::vector<std::uint8_t> flight;
                flight.swap(impl.held);
                impl.write_all(flight.data(), flight.size());
            }
        } release{*this};
        holding = true;
        client->received_data(buf, static_cast<std::size_t>(n));
        return true;
    }
};

BlockingTlsClient::BlockingTlsClient(const std::string& host, std::uint16_t port, PhoneTls tls,
                                     std::chrono::milliseconds timeout,
                                     std::optional<Botan::X509_Certificate> trusted)
    : impl_(std::make_unique<Impl>()) {
    impl_->fd = connect_tcp(host, port, timeout);
    impl_->trusted = std::move(trusted);
    impl_->policy = make_phone_tls_policy(tls);
    try {
        impl_->client = std::make_unique<Botan::TLS::Client>(
            *impl_, impl_->sessions, impl_->creds, *impl_->policy, impl_->rng,
            Botan::TLS::Server_Information(host, port),
            impl_->policy->latest_supported_version(false));
        while (!impl_->active) {
            if (!impl_->pump(timeout)) {
                throw TlsClientError("server closed the connection during the TLS handshake");
            }
        }
    } catch (const Botan::Exception& e) {
        ::close(impl_->fd);
        impl_->fd = -1;
        throw TlsClientError(std::string("TLS handshake failed: ") + e.what());
    } catch (const TlsClientError&) {
        ::close(impl_->fd);
        impl_->fd = -1;
        throw;
    }
}

BlockingTlsClient::~BlockingTlsClient() {
    if (impl_ && impl_->fd >= 0) {
        ::close(impl_->fd);
    }
}

void BlockingTlsClient::send(std::span<const std::uint8_t> plaintext) {
    impl_->client->send(plaintext.data(), plaintext.size());
    if (!impl_->write_error.empty()) {
        throw TlsClientError("send failed: " + impl_->write_error);
    }
}

void BlockingTlsClient::send_raw(std::span<const std::uint8_t> bytes) {
    impl_->write_all(bytes.data(), bytes.size());
}

std::vector<std::uint8_t> BlockingTlsClient::receive_some(std::chrono::milliseconds timeout) {
    while (impl_->plaintext.empty() && !impl_->closed) {
        try {
            impl_->pump(timeout);
        } catch (const Botan::Exception& e) {
            throw TlsClientError(std::string("TLS error from the server: ") + e.what());
        }
    }
    std::vector<std::uint8_t> out;
    out.swap(impl_->plaintext);
    return out;
}

void BlockingTlsClient::close() {
    if (impl_->fd >= 0) {
        try {
            impl_->client->close();
        } catch (const std::exception&) {
        }
        ::close(impl_->fd);
        impl_->fd = -1;
    }
}

void BlockingTlsClient::reset() {
    if (impl_->fd >= 0) {
        const linger abort_on_close{1, 0};
        ::setsockopt(impl_->fd, SOL_SOCKET, SO_LINGER, &abort_on_close, sizeof abort_on_close);
        ::close(impl_->fd);
        impl_->fd = -1;
    }
}

const std::string& BlockingTlsClient::negotiated() const {
    return impl_->negotiated;
}

}  // namespace capf::test
