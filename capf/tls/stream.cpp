#include "capf/tls/stream.hpp"

#include <array>
#include <asio/experimental/as_tuple.hpp>
#include <asio/steady_timer.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>

namespace capf {

namespace {

constexpr auto tuple_awaitable = asio::experimental::as_tuple(asio::use_awaitable);
constexpr std::size_t read_chunk = 16 * 1024 + 512;  // one TLS record and its overhead

}  // namespace

/// The timer and what its handler may touch. The handler can run after the
/// stream is gone (a cancelled wait completes later), so it finds the stream
/// through `stream`, which the stream clears when it goes.
struct TlsStream::Watchdog {
    Watchdog(const asio::any_io_executor& ex, TlsStream* s) : timer(ex), stream(s) {}
    asio::steady_timer timer;
    TlsStream* stream;
    Deadline armed = Deadline::max();  ///< when the timer fires; max: no wait pending
};

TlsStream::TlsStream(asio::ip::tcp::socket socket, TlsCredentials& credentials,
                     const Botan::TLS::Policy& policy, Botan::RandomNumberGenerator& rng)
    : socket_(std::move(socket)), session_(credentials, policy, rng) {
    std::error_code ignored;  // a socket that fails this fails its first read too
    socket_.non_blocking(true, ignored);
}

TlsStream::~TlsStream() {
    if (watchdog_) {
        watchdog_->stream = nullptr;
        watchdog_->timer.cancel();
    }
}

void TlsStream::arm(Deadline deadline, const asio::any_io_executor& ex) {
    timed_out_ = false;
    deadline_ = deadline;
    if (!watchdog_)
        watchdog_ = std::make_shared<Watchdog>(ex, this);
    // A later deadline needs nothing now: the timer, when it fires, finds
    // the deadline moved and waits again. Only an earlier one re-arms it.
    if (deadline < watchdog_->armed) {
        watchdog_->armed = deadline;
        watchdog_->timer.expires_at(deadline);  // cancels a wait in progress
        wait_for_deadline(watchdog_);
    }
}

void TlsStream::disarm() {
    deadline_ = Deadline::max();
    if (timed_out_) {
        timed_out_ = false;
        throw TimedOut("no progress with the peer before the deadline");
    }
}

void TlsStream::wait_for_deadline(const std::shared_ptr<Watchdog>& dog) {
    // The timer runs on the session's strand: the handler never races the
    // session's coroutine.
    dog->timer.async_wait([dog](std::error_code ec) {
        if (ec == asio::error::operation_aborted || dog->stream == nullptr)
            return;  // re-armed (another wait is pending) or the stream is gone
        dog->stream->on_deadline(dog);
    });
}

void TlsStream::on_deadline(const std::shared_ptr<Watchdog>& dog) {
    dog->armed = Deadline::max();
    if (deadline_ == Deadline::max())
        return;  // no operation in progress
    if (deadline_ <= std::chrono::steady_clock::now()) {
        timed_out_ = true;
        std::error_code ignored;
        socket_.cancel(ignored);  // the operation ends with operation_aborted
        return;
    }
    dog->armed = deadline_;
    dog->timer.expires_at(deadline_);
    wait_for_deadline(dog);
}

asio::awaitable<void> TlsStream::flush(Deadline deadline) {
    std::vector<std::uint8_t> out = session_.take_outgoing();
    if (out.empty()) {
        co_return;
    }
    arm(deadline, co_await asio::this_coro::executor);
    auto [ec, n] = co_await asio::async_write(socket_, asio::buffer(out), tuple_awaitable);
    disarm();
    if (ec) {
        throw std::system_error(ec, "write to the peer");
    }
}

/// This thread's read buffer. A fleet parks thousands of sessions in key
/// generation, and a buffer held per waiting session would be most of their
/// memory: the bytes are read into this thread's buffer and handed to TLS
/// (which copies what it keeps) with no suspension in between. Not inlined,
/// so a coroutine resumed on another thread asks again for that thread's.
[[gnu::noinline]] std::span<std::uint8_t> this_thread_read_buffer() {
    thread_local std::array<std::uint8_t, read_chunk> buffer;
    return buffer;
}

asio::awaitable<bool> TlsStream::receive(Deadline deadline) {
    // What is held back (the last handshake flight) goes out before the
    // stream waits for the peer, who may be waiting for it.
    co_await flush(deadline);
    for (;;) {
        arm(deadline, co_await asio::this_coro::executor);
        auto [waited] =
            co_await socket_.async_wait(asio::ip::tcp::socket::wait_read, tuple_awaitable);
        disarm();
        if (waited) {
            throw std::system_error(waited, "wait for the peer");
        }
        const auto buffer = this_thread_read_buffer();
        std::error_code ec;
        // Non-blocking (set at construction): a stale readiness report
        // answers would_block instead of blocking the I/O thread.
        const std::size_t n = socket_.read_some(asio::buffer(buffer.data(), buffer.size()), ec);
        if (ec == asio::error::eof) {
            co_return false;
        }
        if (ec == asio::error::would_block || ec == asio::error::try_again) {
            continue;  // a spurious wakeup
        }
        if (ec) {
            throw std::system_error(ec, "read from the peer");
        }
        const bool was_established = session_.handshake_complete();
        std::exception_ptr refused;
        try {
            session_.received(buffer.first(n));
        } catch (const TlsError&) {
            refused = std::current_exception();
        }
        // Whatever Botan queued goes out: handshake flights, our close_notify
        // reply, or the alert that explains a refusal to the peer. All but
        // the handshake's last flight, which is held for the first write
        // (the server speaks first in CAPF): one segment, not two.
        if (refused || was_established || !session_.handshake_complete()) {
            co_await flush(deadline);
        }
        if (refused) {
            std::rethrow_exception(refused);
        }
        co_return true;
    }
}

asio::awaitable<void> TlsStream::handshake(Deadline deadline) {
    while (!session_.handshake_complete()) {
        // Not in the condition: GCC 12 miscompiles some co_await in conditions.
        const bool more = co_await receive(deadline);
        if (!more) {
            throw std::system_error(asio::error::eof, "peer closed during the TLS handshake");
        }
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
        const bool more = co_await receive(deadline);
        if (!more) {
            co_return std::vector<std::uint8_t>{};
        }
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
