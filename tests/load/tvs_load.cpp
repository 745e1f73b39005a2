#include "tests/load/tvs_load.hpp"

#include <botan/hmac_drbg.h>
#include <botan/mac.h>
#include <botan/system_rng.h>
#include <botan/x509cert.h>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>

#include "protocol/tvs_message.hpp"
#include "tests/load/measure.hpp"
#include "tests/load/phone_session.hpp"
#include "tests/load/tls_client.hpp"
#include "tests/phone/blocking_tls_client.hpp"

namespace capf::load {
namespace {

namespace tvs = capf::protocol::tvs;
using nlohmann::json;
using Clock = std::chrono::steady_clock;

/// `v` rounded to `digits` decimals, as capf-load prints its figures.
double rounded(double v, int digits) {
    const double scale = std::pow(10.0, digits);
    return std::round(v * scale) / scale;
}

json percentiles(const std::vector<double>& ms) {
    return {{"p50", rounded(percentile(ms, 50), 1)},
            {"p95", rounded(percentile(ms, 95), 1)},
            {"p99", rounded(percentile(ms, 99), 1)},
            {"max", rounded(percentile(ms, 100), 1)}};
}

/// Loopback source 127.5.x.y (role 5: TVS phones), `per_source` connections
/// of workers to each address, as capf-load spreads its phones.
asio::ip::address tvs_source(std::size_t worker, std::size_t per_source) {
    const std::size_t host = worker / std::max<std::size_t>(per_source, 1);
    const auto b = static_cast<unsigned>(host / 250 % 256);
    const auto c = static_cast<unsigned>(host % 250 + 1);
    return asio::ip::make_address_v4(
        static_cast<asio::ip::address_v4::uint_type>((127u << 24) | (5u << 16) | (b << 8) | c));
}

/// Aborts the connection when it overruns its time.
struct Watchdog {
    explicit Watchdog(const asio::any_io_executor& ex) : timer(ex) {}
    asio::steady_timer timer;
    TlsClient* client = nullptr;
    bool fired = false;
};

/// The bound: one private-key operation with the TVS key per TLS handshake,
/// at the rate Botan signs with that key per CPU-second here; a connection
/// carries `requests_per_connection` verifies.
struct Bound {
    SigningRate tvs_key;
    double verifies_per_cpu_second = 0;
};

Bound measure_bound(const TvsLoadOptions& o) {
    Bound b;
    b.tvs_key = measure_signing(o.bound_key, o.bound_seconds);
    b.verifies_per_cpu_second =
        b.tvs_key.signatures_per_cpu_second * static_cast<double>(o.requests_per_connection);
    return b;
}

json bound_json(const Bound& before, const Bound& after, double& verifies_per_cpu_second) {
    verifies_per_cpu_second = (before.verifies_per_cpu_second + after.verifies_per_cpu_second) / 2;
    const auto one = [](const Bound& b) {
        return json{
            {"tvs_key",
             {{"key", b.tvs_key.algorithm},
              {"signatures_per_second", std::round(b.tvs_key.signatures_per_second)},
              {"signatures_per_cpu_second", std::round(b.tvs_key.signatures_per_cpu_second)}}},
            {"verifies_per_cpu_second", rounded(b.verifies_per_cpu_second, 1)}};
    };
    return {{"before", one(before)},
            {"after", one(after)},
            {"verifies_per_cpu_second", rounded(verifies_per_cpu_second, 1)},
            {"what",
             "one private-key operation with the TVS key per TLS handshake (the handshake "
             "signature), times the requests per connection, at the rate one reused Botan "
             "signer signs per CPU-second, measured before and after the load; the "
             "handshake's key agreement, the records and the store lookup are not counted"}};
}

class TvsLoad {
  public:
    explicit TvsLoad(const TvsLoadOptions& o) : o_(o) {}

    int main() {
        load_files();
        std::optional<Bound> before;
        if (!o_.bound_key.empty())
            before = measure_bound(o_);
        asio::io_context io;
        asio::co_spawn(io, run(), [](std::exception_ptr e) {
            if (e)
                std::rethrow_exception(e);
        });
        io.run();
        double bound = 0;
        if (before)
            report_["bound"] = bound_json(*before, measure_bound(o_), bound);
        finish_report(bound);
        std::cout << report_.dump() << std::endl;
        return errors() == 0 ? 0 : 1;
    }

  private:
    void load_files() {
        if (o_.cert.empty())
            throw std::runtime_error("--tvs needs --cert FILE, the certificate to verify");
        der_ = Botan::X509_Certificate(o_.cert).BER_encode();
        if (!o_.pinned_cert.empty())
            pinned_.emplace(o_.pinned_cert);
        if (o_.requests_per_connection == 0)
            throw std::runtime_error("--requests-per-connection must be at least 1");
        policy_ = test::make_phone_tls_policy(o_.tls == "legacy" ? test::PhoneTls::tls10_rsa
                                                                 : test::PhoneTls::tls12_ecdhe);
        server_ = asio::ip::tcp::endpoint(asio::ip::make_address(o_.host), o_.port);
    }

    std::size_t errors() const {
        std::size_t n = 0;
        for (const auto& [kind, count] : errors_)
            n += count;
        return n;
    }

    asio::awaitable<void> run() {
        auto ex = co_await asio::this_coro::executor;
        start_ = Clock::now();
        stop_taking_ = o_.seconds > 0 ? start_ + std::chrono::duration_cast<Clock::duration>(
                                                     std::chrono::duration<double>(o_.seconds))
                                      : Clock::time_point::max();
        capfd_before_ = o_.capfd_pid ? sample_process(o_.capfd_pid) : std::nullopt;
        own_before_ = own_cpu_seconds();
        running_ = o_.connections;
        for (std::size_t w = 0; w < o_.connections; ++w)
            asio::co_spawn(ex, worker(w), asio::detached);
        asio::steady_timer tick(ex);
        std::size_t last = 0;
        auto cpu_before = capfd_before_;
        auto next_line = start_ + std::chrono::seconds(1);
        while (running_ > 0) {
            // Short ticks, so the run's end is seen within 20 ms.
            tick.expires_after(std::chrono::milliseconds(20));
            co_await tick.async_wait(asio::use_awaitable);
            if (Clock::now() < next_line || running_ == 0)
                continue;
            next_line += std::chrono::seconds(1);
            const auto cpu = o_.capfd_pid ? sample_process(o_.capfd_pid) : std::nullopt;
            if (cpu)
                max_rss_mib_ = std::max(max_rss_mib_, cpu->rss_mib);
            if (!o_.quiet) {
                const double cores =
                    cpu && cpu_before ? cpu->cpu_seconds() - cpu_before->cpu_seconds() : 0;
                std::fprintf(stderr,
                             "capf-load tvs: %5.0f s  %zu verifies  %zu errors  %zu/s  "
                             "capfd %.2f cores, %.0f MiB\n",
                             std::chrono::duration<double>(Clock::now() - start_).count(),
                             answered(), errors(), answered() - last, cores,
                             cpu ? cpu->rss_mib : 0.0);
            }
            cpu_before = cpu;
            last = answered();
        }
        capfd_after_ = o_.capfd_pid ? sample_process(o_.capfd_pid) : std::nullopt;
        client_cpu_ = own_cpu_seconds() - own_before_;
    }

    std::size_t answered() const noexcept { return valid_ + invalid_; }

    /// Requests the next connection carries: 0 when the run is over.
    std::size_t claim() {
        if (Clock::now() >= stop_taking_)
            return 0;
        if (o_.seconds > 0)
            return o_.requests_per_connection;
        const std::size_t n = std::min(o_.requests_per_connection, o_.count - claimed_);
        claimed_ += n;
        return n;
    }

    asio::awaitable<void> worker(std::size_t w) {
        const auto source = tvs_source(w, o_.per_source);
        for (std::size_t n = claim(); n > 0; n = claim())
            co_await one_connection(source, n);
        if (--running_ == 0)  // the last worker marks the end of the run
            seconds_ = std::chrono::duration<double>(Clock::now() - start_).count();
    }

    /// One connection: TLS, then `requests` verifies one after the other,
    /// then close_notify. Every request left unanswered counts as an error
    /// of the connection's failure kind.
    asio::awaitable<void> one_connection(asio::ip::address source, std::size_t requests) {
        const auto opened = Clock::now();
        auto dog = std::make_shared<Watchdog>(co_await asio::this_coro::executor);
        std::size_t done = 0;
        std::string failure;
        try {
            auto socket = co_await connect(server_, source);
            // On the heap, not in the coroutine frame (see phone_session.cpp).
            auto tls = std::make_unique<TlsClient>(std::move(socket), *policy_, *rng_,
                                                   pinned_ ? &*pinned_ : nullptr);
            dog->client = tls.get();
            arm(dog);
            auto reader =
                std::make_unique<tvs::FrameReader>(tvs::Limits{}, tvs::Command::verify_response);
            std::exception_ptr error;
            try {
                co_await tls->handshake();
                for (; done < requests; ++done) {
                    // Not a conditional inside the co_await: GCC 12 miscompiles those.
                    std::optional<Clock::time_point> since;
                    if (done == 0)
                        since = opened;
                    co_await verify(*tls, *reader, since);
                }
            } catch (...) {
                error = std::current_exception();
            }
            dog->client = nullptr;
            dog->timer.cancel();
            co_await tls->shutdown();
            if (error)
                std::rethrow_exception(error);
        } catch (const LinkError& e) {
            failure = dog->fired ? "timeout" : e.kind();
        } catch (const std::exception& e) {
            failure = "internal";
            if (!o_.quiet)
                std::fprintf(stderr, "capf-load tvs: %s\n", e.what());
        }
        if (!failure.empty())
            errors_[failure] += requests - done;
    }

    void arm(const std::shared_ptr<Watchdog>& dog) const {
        dog->timer.expires_after(
            std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(o_.timeout)));
        dog->timer.async_wait([dog](std::error_code ec) {
            if (!ec && dog->client != nullptr) {
                dog->fired = true;
                dog->client->abort();
            }
        });
    }

    /// One request and its answer. `opened`: for a connection's first
    /// request, when the connect began (what a phone waits: connect, TLS,
    /// request, answer).
    asio::awaitable<void> verify(TlsClient& tls, tvs::FrameReader& reader,
                                 std::optional<Clock::time_point> opened) {
        const std::uint32_t sid = next_session_id_++;
        const auto sent = Clock::now();
        // A named frame, not a temporary in the co_await: GCC 12 frees such
        // a temporary twice.
        const auto frame = tvs::encode(tvs::VerifyRequest{sid, o_.device, der_});
        co_await tls.write(frame);
        for (;;) {
            auto next = reader.next();
            if (auto* m = std::get_if<tvs::Message>(&next)) {
                const auto& answer = std::get<tvs::VerifyResponse>(*m);
                if (answer.session_id != sid)
                    throw LinkError("session_id", "the answer does not echo the session id");
                ++(answer.valid() ? valid_ : invalid_);
                const auto now = Clock::now();
                request_latency_ms_.push_back(
                    std::chrono::duration<double, std::milli>(now - sent).count());
                if (opened)
                    latency_ms_.push_back(
                        std::chrono::duration<double, std::milli>(now - *opened).count());
                co_return;
            }
            if (auto* e = std::get_if<tvs::Error>(&next))
                throw LinkError("protocol", e->message());
            auto data = co_await tls.read_some();
            if (data.empty())
                throw LinkError("closed", "the TVS closed the connection without an answer");
            reader.feed(data);
        }
    }

    void finish_report(double bound) {
        const double verifies = static_cast<double>(answered());
        report_["mode"] = "tvs";
        report_["connections"] = o_.connections;
        report_["requests_per_connection"] = o_.requests_per_connection;
        report_["tls"] = o_.tls;
        report_["certificate_bytes"] = der_.size();
        report_["seconds"] = rounded(seconds_, 2);
        report_["verifies"] = answered();
        report_["valid"] = valid_;
        report_["invalid"] = invalid_;
        report_["error_count"] = errors();
        report_["errors"] = errors_;
        report_["verifies_per_second"] = seconds_ > 0 ? rounded(verifies / seconds_, 1) : 0.0;
        report_["latency_ms"] = percentiles(latency_ms_);
        report_["request_latency_ms"] = percentiles(request_latency_ms_);
        report_["client_cpu_seconds"] = rounded(client_cpu_, 2);
        if (!capfd_before_ || !capfd_after_)
            return;
        const auto& a = *capfd_after_;
        const auto& b = *capfd_before_;
        const double cpu = a.cpu_seconds() - b.cpu_seconds();
        report_["capfd"] = {{"cpu_seconds", rounded(cpu, 2)},
                            {"user_seconds", rounded(a.user_seconds - b.user_seconds, 2)},
                            {"system_seconds", rounded(a.system_seconds - b.system_seconds, 2)},
                            {"rss_mib_max_during", std::round(max_rss_mib_)},
                            {"peak_rss_mib", std::round(a.peak_rss_mib)}};
        if (verifies > 0)
            report_["capfd_cpu_ms_per_verify"] = rounded(cpu / verifies * 1000, 3);
        const double per_cpu = cpu > 0 ? verifies / cpu : 0;
        report_["verifies_per_capfd_cpu_second"] = rounded(per_cpu, 1);
        if (bound > 0)
            report_["fraction_of_bound"] = rounded(per_cpu / bound, 3);
    }

    const TvsLoadOptions& o_;
    std::vector<std::uint8_t> der_;
    std::optional<Botan::X509_Certificate> pinned_;
    std::unique_ptr<Botan::TLS::Policy> policy_;
    // An HMAC_DRBG, not AutoSeeded_RNG (a system call per request), as capf-load's.
    std::unique_ptr<Botan::RandomNumberGenerator> rng_ = std::make_unique<Botan::HMAC_DRBG>(
        Botan::MessageAuthenticationCode::create_or_throw("HMAC(SHA-256)"), Botan::system_rng());
    asio::ip::tcp::endpoint server_;
    Clock::time_point start_, stop_taking_;
    std::size_t running_ = 0, claimed_ = 0, valid_ = 0, invalid_ = 0;
    std::uint32_t next_session_id_ = 1;
    std::map<std::string, std::size_t> errors_;
    std::vector<double> latency_ms_, request_latency_ms_;
    std::optional<ProcessSample> capfd_before_, capfd_after_;
    double own_before_ = 0, client_cpu_ = 0, seconds_ = 0, max_rss_mib_ = 0;
    json report_ = json::object();
};

}  // namespace

int run_tvs_load(const TvsLoadOptions& options) {
    return TvsLoad(options).main();
}

}  // namespace capf::load
