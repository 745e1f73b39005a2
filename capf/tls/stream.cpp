#include "capf/tls/stream.hpp"

#include <algorithm>
#include <asio/experimental/as_tuple.hpp>
#include <asio/experimental/awaitable_operators.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>

namespace capf {

using namespace asio::experimental::awaitable_operators;

namespace {

constexpr auto tuple_awaitable = asio::experimental::as_tuple(asio::use_awaitable);
constexpr std::size_t read_chunk = 16 * 1024 + 512;  // one TLS record and its overhead

}  // namespace

TlsStream::TlsStream(asio::ip::tcp::socket socket, TlsCredentials& credentials,
                     const Botan::TLS::Policy& policy, Botan::RandomNumberGenerator& rng)
    : socket_(std::move(socket)), session_(credentials, policy, rng) {}

asio::awaitable<void> TlsStream::flush(Deadline deadline) {
    std::vector<std::uint8_t> out = session_.take_outgoing();
    if (out.empty()) {
        co_return;
    }
    asio::steady_timer timer(socket_.get_executor(), deadline);
    auto result = co_await (asio::async_write(socket_, asio::buffer(out), tuple_awaitable) ||
                            timer.async_wait(tuple_awaitable));
    if (result.index() == 1) {
        throw TimedOut("write to the peer timed out");
    }
    if (auto [ec, n] = std::get<0>(result); ec) {
        throw std::system_error(ec, "write to the peer");
    }
}

asio::awaitable<std::size_t> TlsStream::read_socket(Deadline deadline) {
    // Wait for readability without a buffer: a fleet parks thousands of
    // sessions in key generation, and a buffer held per waiting session
    // would be most of their memory. The buffer exists only while reading.
    read_buffer_ = {};
    asio::steady_timer timer(socket_.get_executor(), deadline);
    auto result = co_await (socket_.async_wait(asio::ip::tcp::socket::wait_read, tuple_awaitable) ||
                            timer.async_wait(tuple_awaitable));
    if (result.index() == 1) {
        throw TimedOut("no data from the peer before the deadline");
    }
    if (auto [ec] = std::get<0>(result); ec) {
        throw std::system_error(ec, "wait for the peer");
    }
    std::error_code ec;
    // Never block the I/O thread: a readiness report can be stale, and then
    // the read must say so rather than wait.
    socket_.non_blocking(true, ec);
    const std::size_t available = socket_.available(ec);
    read_buffer_.resize(std::clamp<std::size_t>(ec ? 0 : available, 1, read_chunk));
    const std::size_t n = socket_.read_some(asio::buffer(read_buffer_), ec);
    if (ec == asio::error::eof) {
        co_return 0;
    }
    if (ec == asio::error::would_block || ec == asio::error::try_again) {
        co_return co_await read_socket(deadline);  // a spurious wakeup
    }
    if (ec) {
        throw std::system_error(ec, "read from the peer");
    }
    co_return n;
}

asio::awaitable<void> TlsStream::feed(std::size_t n, Deadline deadline) {
    std::exception_ptr refused;
    try {
        session_.received(std::span(read_buffer_).first(n));
    } catch (const TlsError&) {
        refused = std::current_exception();
    }
    // Whatever Botan queued goes out: handshake flights, our close_notify
    // reply, or the alert that explains a refusal to the peer.
    co_await flush(deadline);
    if (refused) {
        std::rethrow_exception(refused);
    }
}

asio::awaitable<void> TlsStream::handshake(Deadline deadline) {
    while (!session_.handshake_complete()) {
        const std::size_t n = co_await read_socket(deadline);
        if (n == 0) {
            throw std::system_error(asio::error::eof, "peer closed during the TLS handshake");
        }
        co_await feed(n, deadline);
        if (session_.peer_closed()) {
            throw TlsError("peer closed the TLS handshake: " + session_.last_alert());
        }
    }
    // Application data may have arrived with the last handshake flight.
    auto early = session_.take_incoming();
    pending_plaintext_.insert(pending_plaintext_.end(), early.begin(), early.end());
}

asio::awaitable<std::vector<std::uint8_t>> TlsStream::read_some(Deadline deadline) {
    while (pending_plaintext_.empty()) {
        if (session_.peer_closed()) {
            co_return std::vector<std::uint8_t>{};
        }
        const std::size_t n = co_await read_socket(deadline);
        if (n == 0) {
            co_return std::vector<std::uint8_t>{};
        }
        co_await feed(n, deadline);
        pending_plaintext_ = session_.take_incoming();
    }
    std::vector<std::uint8_t> out;
    out.swap(pending_plaintext_);
    co_return out;
}

asio::awaitable<void> TlsStream::write(std::span<const std::uint8_t> plaintext, Deadline deadline) {
    session_.send(plaintext);
    co_await flush(deadline);
}

asio::awaitable<void> TlsStream::shutdown(Deadline deadline) {
    try {
        session_.close();
        co_await flush(deadline);
    } catch (const std::exception&) {
        // Best effort: the peer may already be gone.
    }
    std::error_code ignored;
    socket_.shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
    socket_.close(ignored);
}

}  // namespace capf
