#include "tests/load/phone_session.hpp"

#include <array>
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/experimental/awaitable_operators.hpp>
#include <asio/steady_timer.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>
#include <memory>

#include "protocol/decoder.hpp"

namespace capf::load {

using namespace asio::experimental::awaitable_operators;
using protocol::Command;
using protocol::Message;
using protocol::Reason;
using protocol::Tag;

namespace {

constexpr auto as_tuple = asio::experimental::as_tuple(asio::use_awaitable);
using Clock = std::chrono::steady_clock;

/// CAPF messages over the TLS client, whatever split the records bring.
class Link {
  public:
    explicit Link(TlsClient& tls) : tls_(tls) {}

    asio::awaitable<Message> next() {
        for (;;) {
            auto next = reader_.next();
            if (auto* m = std::get_if<Message>(&next))
                co_return std::move(*m);
            if (auto* e = std::get_if<protocol::Error>(&next))
                throw LinkError("protocol", e->message());
            const auto data = co_await tls_.read_some();
            if (data.empty())
                throw LinkError("closed", "capfd closed the connection without END_SESSION");
            reader_.feed(data);
        }
    }

    asio::awaitable<void> send(const Message& m) {
        const auto frame = protocol::encode(m);  // header and body in one record
        co_await tls_.write(frame);
    }

  private:
    TlsClient& tls_;
    protocol::FrameReader reader_;
};

/// Aborts the connection when the session overruns its time; parked
/// sessions disarm it once they are parked.
struct Watchdog {
    explicit Watchdog(const asio::any_io_executor& ex) : timer(ex) {}
    asio::steady_timer timer;
    TlsClient* client = nullptr;
    bool fired = false;
};

void arm(std::shared_ptr<Watchdog> dog, std::chrono::milliseconds timeout) {
    dog->timer.expires_after(timeout);
    dog->timer.async_wait([dog](std::error_code ec) {
        if (!ec && dog->client != nullptr) {
            dog->fired = true;
            dog->client->abort();
        }
    });
}

void disarm(Watchdog& dog) {
    dog.client = nullptr;
    dog.timer.cancel();
}

class Conversation {
  public:
    Conversation(PhoneContext& ctx, Result& result, TlsClient& tls, Watchdog& dog)
        : ctx_(ctx), r_(result), tls_(tls), link_(tls), dog_(dog) {}

    asio::awaitable<void> run() {
        co_await tls_.handshake();
        for (;;) {
            const Message m = co_await link_.next();
            session_id_ = m.session_id();
            switch (m.command()) {
                case Command::auth_request:
                    co_await link_.send(auth_response());
                    break;
                case Command::key_gen_request:
                    if (r_.plan.kind == Kind::park) {
                        co_await park();
                        co_return;
                    }
                    co_await answer_key_gen(m);
                    break;
                case Command::store_cert_request:
                    co_await answer_store(m);
                    break;
                case Command::fetch_cert_request:
                    co_await answer_fetch();
                    break;
                case Command::delete_cert_request:
                    co_await answer_delete();
                    break;
                case Command::end_session: {
                    const auto reason = m.find<Tag::reason>();
                    r_.end_reason = reason ? static_cast<int>(*reason) : -1;
                    co_return;
                }
                default:
                    throw LinkError("unexpected", std::string(protocol::command_name(m.command())));
            }
        }
    }

    bool released = false;

  private:
    Message auth_response() const {
        Message r(Command::auth_response, session_id_);
        r.add<Tag::version>(protocol::protocol_version);
        r.add<Tag::device_name>(r_.plan.device);
        r.add<Tag::password>(password());
        r.add<Tag::reason>(Reason::success);
        return r;
    }

    std::string password() const {
        if (r_.plan.kind == Kind::wrong_auth)
            return "0000";  // never one of the 6-digit strings capf-load sets
        if (r_.plan.kind != Kind::brute)
            return {};
        std::string guess;
        while (guess.size() < 6) {
            std::uint8_t b = 0;
            ctx_.rng->randomize(&b, 1);
            if (b < 250)
                guess.push_back(static_cast<char>('0' + b % 10));
        }
        return guess;
    }

    void check_requested(const Message& m) const {
        const bool rsa = m.get<Tag::key_type>() == protocol::KeyType::rsa;
        const bool matches =
            rsa ? ctx_.rsa_keys && m.get<Tag::key_size>() == ctx_.rsa_bits
                : !ctx_.rsa_keys && static_cast<unsigned>(m.get<Tag::curve>()) == ctx_.curve;
        if (!matches)
            throw LinkError("keygen_spec", "KEY_GEN_REQUEST asks for another key than the pool's");
    }

    asio::awaitable<void> answer_key_gen(const Message& m) {
        check_requested(m);
        Message r(Command::key_gen_response, session_id_);
        r.add<Tag::public_key>(ctx_.public_keys[r_.plan.key % ctx_.public_keys.size()])
            .add<Tag::reason>(Reason::success);
        co_await link_.send(r);
    }

    /// REQUEST_IN_PROGRESS, then hold until released. Anything capfd says
    /// meanwhile (a key-generation timeout) ends the park as a failure.
    asio::awaitable<void> park() {
        co_await link_.send(Message(Command::request_in_progress, session_id_));
        r_.parked = true;
        disarm(dog_);
        ctx_.parked.emplace(&tls_, &released);
        try {
            const Message m = co_await link_.next();
            ctx_.parked.erase(&tls_);
            throw LinkError("park_interrupted",
                            "capfd sent " + std::string(protocol::command_name(m.command())));
        } catch (const LinkError&) {
            ctx_.parked.erase(&tls_);
            if (!released)
                throw;
        }
    }

    asio::awaitable<void> answer_store(const Message& m) {
        r_.stored = m.get<Tag::certificate>().der;
        Message r(Command::store_cert_response, session_id_);
        r.add<Tag::reason>(Reason::success);
        co_await link_.send(r);
    }

    asio::awaitable<void> answer_fetch() {
        Message r(Command::fetch_cert_response, session_id_);
        if (r_.plan.lsc.empty()) {
            r.add<Tag::reason>(Reason::invalid_element);
        } else {
            r.add<Tag::reason>(Reason::success)
                .add<Tag::certificate>(
                    protocol::CertificateValue{protocol::CertType::lsc, r_.plan.lsc});
        }
        co_await link_.send(r);
    }

    asio::awaitable<void> answer_delete() {
        Message r(Command::delete_cert_response, session_id_);
        r.add<Tag::reason>(Reason::success);
        co_await link_.send(r);
    }

    PhoneContext& ctx_;
    Result& r_;
    TlsClient& tls_;
    Link link_;
    Watchdog& dog_;
    std::uint32_t session_id_ = 0;
};

/// The END_SESSION reason each kind expects.
int expected_end(Kind kind) {
    switch (kind) {
        case Kind::install:
        case Kind::remove:
            return 1;
        case Kind::fetch:
            return 0;
        case Kind::unknown:
            return 9;
        case Kind::wrong_auth:
        case Kind::brute:
            return 7;
        case Kind::park:
            return -1;
    }
    return -1;
}

void judge(Result& r, bool released) {
    if (r.plan.kind == Kind::park) {
        r.ok = r.parked && released;
        if (!r.ok && r.error.empty())
            r.error = "not_parked";
        return;
    }
    const int expected = expected_end(r.plan.kind);
    if (!r.error.empty())
        return;
    if (r.end_reason != expected) {
        r.error = "end_" + std::to_string(r.end_reason);
    } else if (r.plan.kind == Kind::install && !r.stored) {
        r.error = "nothing_stored";
    } else {
        r.ok = true;
    }
}

}  // namespace

asio::awaitable<asio::ip::tcp::socket> connect(const asio::ip::tcp::endpoint& server,
                                               const asio::ip::address& source) {
    asio::ip::tcp::socket socket(co_await asio::this_coro::executor);
    socket.open(server.protocol());
    if (!source.is_unspecified())
        socket.bind(asio::ip::tcp::endpoint(source, 0));
    auto [ec] = co_await socket.async_connect(server, as_tuple);
    if (ec)
        throw LinkError("connect", "connect: " + ec.message());
    socket.set_option(asio::ip::tcp::no_delay(true));
    co_return socket;
}

const char* kind_name(Kind kind) noexcept {
    switch (kind) {
        case Kind::install:
            return "install";
        case Kind::park:
            return "park";
        case Kind::fetch:
            return "fetch";
        case Kind::remove:
            return "delete";
        case Kind::unknown:
            return "unknown";
        case Kind::wrong_auth:
            return "wrong_auth";
        case Kind::brute:
            return "brute";
    }
    return "?";
}

asio::awaitable<Result> run_phone_session(PhoneContext& ctx, Plan plan, asio::ip::address source) {
    Result r;
    r.plan = std::move(plan);
    const auto started = Clock::now();
    auto dog = std::make_shared<Watchdog>(co_await asio::this_coro::executor);
    bool released = false;
    try {
        auto socket = co_await connect(ctx.server, source);
        // On the heap, not in the coroutine frame: a frame this large makes
        // GCC 12 warn falsely about Asio's frame allocator (-O1, the
        // sanitizer build).
        auto tls =
            std::make_unique<TlsClient>(std::move(socket), *ctx.policy, *ctx.rng, ctx.pinned);
        dog->client = tls.get();
        arm(dog, ctx.timeout);
        auto conversation = std::make_unique<Conversation>(ctx, r, *tls, *dog);
        std::exception_ptr failure;
        try {
            co_await conversation->run();
        } catch (...) {
            failure = std::current_exception();
        }
        released = conversation->released;
        disarm(*dog);
        co_await tls->shutdown();
        if (failure)
            std::rethrow_exception(failure);
    } catch (const LinkError& e) {
        r.error = dog->fired ? "timeout" : e.kind();
        r.detail = e.what();
    } catch (const std::exception& e) {
        r.error = "internal";
        r.detail = e.what();
    }
    if (r.plan.kind == Kind::park && released)
        r.error.clear();
    judge(r, released);
    r.latency_ms = std::chrono::duration<double, std::milli>(Clock::now() - started).count();
    co_return r;
}

void release_parked(PhoneContext& ctx) {
    auto parked = std::move(ctx.parked);
    ctx.parked.clear();
    for (auto& [client, released] : parked) {
        *released = true;
        client->abort();
    }
}

asio::awaitable<std::optional<double>> run_idle_connection(const asio::ip::tcp::endpoint& server,
                                                           asio::ip::address source,
                                                           Clock::time_point give_up,
                                                           bool& connected) {
    connected = false;
    asio::ip::tcp::socket socket(co_await asio::this_coro::executor);
    try {
        socket = co_await connect(server, source);
    } catch (const LinkError&) {
        co_return std::nullopt;
    }
    connected = true;
    const auto opened = Clock::now();
    std::array<std::uint8_t, 64> buffer;
    asio::steady_timer timer(socket.get_executor(), give_up);
    // Whatever the server sends (nothing, or an alert) until it closes.
    for (;;) {
        auto result = co_await (socket.async_read_some(asio::buffer(buffer), as_tuple) ||
                                timer.async_wait(as_tuple));
        if (result.index() == 1)
            co_return std::nullopt;
        if (auto [ec, n] = std::get<0>(result); ec)
            break;
    }
    co_return std::chrono::duration<double>(Clock::now() - opened).count();
}

}  // namespace capf::load
