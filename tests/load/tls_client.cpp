#include "tests/load/tls_client.hpp"

#include <botan/tls_exceptn.h>

#include <array>
#include <asio/experimental/as_tuple.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>

namespace capf::load {
namespace {

constexpr auto as_tuple = asio::experimental::as_tuple(asio::use_awaitable);

}  // namespace

TlsClient::TlsClient(asio::ip::tcp::socket socket, const Botan::TLS::Policy& policy,
                     Botan::RandomNumberGenerator& rng, const Botan::X509_Certificate* pinned)
    : socket_(std::move(socket)), policy_(policy), rng_(rng), pinned_(pinned) {
    std::error_code ignored;  // a read on a stale readiness report answers would_block
    socket_.non_blocking(true, ignored);
}

TlsClient::~TlsClient() = default;

void TlsClient::tls_emit_data(const uint8_t data[], size_t size) {
    outgoing_.insert(outgoing_.end(), data, data + size);
}

void TlsClient::tls_record_received(uint64_t, const uint8_t data[], size_t size) {
    incoming_.insert(incoming_.end(), data, data + size);
}

void TlsClient::tls_alert(Botan::TLS::Alert alert) {
    alert_ = alert.type_string();
    if (alert.type() == Botan::TLS::Alert::CLOSE_NOTIFY || alert.is_fatal())
        closed_ = true;
}

bool TlsClient::tls_session_established(const Botan::TLS::Session&) {
    return false;  // nothing to resume: every phone session is a full handshake
}

void TlsClient::tls_verify_cert_chain(
    const std::vector<Botan::X509_Certificate>& chain,
    const std::vector<std::shared_ptr<const Botan::OCSP::Response>>&,
    const std::vector<Botan::Certificate_Store*>&, Botan::Usage_Type, const std::string&,
    const Botan::TLS::Policy&) {
    if (pinned_ != nullptr && (chain.empty() || !(chain.front() == *pinned_)))
        throw Botan::TLS::TLS_Exception(Botan::TLS::Alert::BAD_CERTIFICATE,
                                        "capfd presented another certificate than the pinned one");
}

asio::awaitable<void> TlsClient::flush() {
    if (outgoing_.empty())
        co_return;
    std::vector<std::uint8_t> out;
    out.swap(outgoing_);
    auto [ec, n] = co_await asio::async_write(socket_, asio::buffer(out), as_tuple);
    if (ec)
        throw LinkError("closed", "write: " + ec.message());
}

/// One read buffer for every client of this thread (they all run on it),
/// not one in each coroutine frame.
[[gnu::noinline]] std::span<std::uint8_t> read_buffer() {
    thread_local std::array<std::uint8_t, 16 * 1024 + 512> buffer;
    return buffer;
}

asio::awaitable<bool> TlsClient::pump() {
    for (;;) {
        auto [waited] = co_await socket_.async_wait(asio::ip::tcp::socket::wait_read, as_tuple);
        if (waited)
            throw LinkError("closed", "wait: " + waited.message());
        // Read and hand to Botan with no suspension in between, so one buffer
        // serves every client of this thread.
        const auto buffer = read_buffer();
        std::error_code ec;
        const std::size_t n = socket_.read_some(asio::buffer(buffer.data(), buffer.size()), ec);
        if (ec == asio::error::would_block || ec == asio::error::try_again)
            continue;
        if (ec == asio::error::eof)
            co_return false;
        if (ec)
            throw LinkError("closed", "read: " + ec.message());
        std::string refused;
        try {
            client_->received_data(buffer.data(), n);
        } catch (const std::exception& e) {
            refused = std::string("TLS: ") + e.what();
        }
        co_await flush();  // what Botan queued, the alert that explains a refusal included
        if (!refused.empty())
            throw LinkError("tls", refused);
        co_return true;
    }
}

asio::awaitable<void> TlsClient::handshake() {
    // Built here, not in the constructor: it calls tls_emit_data at once,
    // on a fully constructed object.
    client_ = std::make_unique<Botan::TLS::Client>(
        static_cast<Botan::TLS::Callbacks&>(*this), sessions_, no_credentials_, policy_, rng_,
        Botan::TLS::Server_Information(), policy_.latest_supported_version(false),
        std::vector<std::string>{}, /*reserved_io_buffer_size=*/1024);
    co_await flush();
    while (!active_) {
        // co_await never sits in a condition: GCC 12 miscompiles some of those.
        const bool more = co_await pump();
        if (!more)
            throw LinkError("closed", "capfd closed the connection during the TLS handshake");
        if (closed_)
            throw LinkError("tls", "capfd refused the TLS handshake: " + alert_);
    }
}

asio::awaitable<void> TlsClient::write(std::span<const std::uint8_t> plaintext) {
    if (closed_ || !client_->is_active())
        throw LinkError("closed", "the TLS session is closed");
    client_->send(plaintext.data(), plaintext.size());
    co_await flush();
}

asio::awaitable<std::vector<std::uint8_t>> TlsClient::read_some() {
    while (incoming_.empty()) {
        if (closed_)
            co_return std::vector<std::uint8_t>{};
        const bool more = co_await pump();
        if (!more)
            co_return std::vector<std::uint8_t>{};
    }
    std::vector<std::uint8_t> out;
    out.swap(incoming_);
    co_return out;
}

void TlsClient::abort() noexcept {
    std::error_code ignored;
    socket_.close(ignored);
}

asio::awaitable<void> TlsClient::shutdown() {
    try {
        if (client_ && !client_->is_closed())
            client_->close();
        co_await flush();
    } catch (const std::exception&) {
        // best effort: capfd may have gone already
    }
    abort();
}

}  // namespace capf::load
