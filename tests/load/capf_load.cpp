// capf-load: many simulated phones against a running capfd, over TLS on
// loopback, from one thread (so the client needs far less CPU than the
// server it measures). It adds and schedules its devices through the admin
// socket, then runs
//   (a) throughput: N phones at once doing null-string installs, for a count
//       or a time;
//   (b) parking: K sessions that answer KEY_GEN_REQUEST with
//       REQUEST_IN_PROGRESS and hold, while (a) runs beside them;
//   (c) a mix of install, fetch, delete, unknown device and wrong auth string;
// and, for the resilience tests, idle TCP connections that never speak and
// an auth-string brute force from one peer. With --tvs it drives a Trust
// Verification Service port instead (tests/load/tvs_load.hpp). A progress line goes to stderr
// every second; one JSON object with the figures goes to stdout at the end.
// tests/load/README.md has the commands.
#include <botan/ec_group.h>
#include <botan/ecdsa.h>
#include <botan/hmac_drbg.h>
#include <botan/mac.h>
#include <botan/rsa.h>
#include <botan/system_rng.h>
#include <sys/resource.h>

#include <CLI/CLI.hpp>
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>
#include <cmath>
#include <cstdio>
#include <deque>
#include <fstream>
#include <iostream>
#include <random>
#include <thread>

#include "ca/key_spec.hpp"
#include "capf/ctl/admin_client.hpp"
#include "tests/load/measure.hpp"
#include "tests/load/phone_session.hpp"
#include "tests/load/tally.hpp"
#include "tests/load/tvs_load.hpp"
#include "tests/phone/blocking_tls_client.hpp"

using namespace capf::load;
using nlohmann::json;
using Clock = std::chrono::steady_clock;

namespace {

struct Options {
    std::string host = "127.0.0.1";
    std::uint16_t port = 3804;
    std::string admin_socket;
    std::string capf_cert;
    pid_t capfd_pid = 0;
    std::string capf_key, issuer_key;  // for the bound
    double bound_seconds = 1.0;
    std::size_t phones = 16;
    std::size_t count = 1000;
    double seconds = 0;
    std::string mix = "install=100";
    std::size_t park = 0;
    std::size_t park_connecting = 64;
    std::size_t idle = 0;
    double idle_wait = 60;
    std::size_t brute = 0;
    std::string key_spec = "rsa-2048";
    std::size_t key_pool = 16;
    std::string run = "A0";
    std::size_t per_source = 16;
    std::string tls = "tls12";
    double timeout = 60;
    bool setup = true;
    bool retry = false;
    double retry_delay = 0.5;
    double deadline = 600;
    std::string timeline_file, held_file, stored_file;
    bool quiet = false;
};

// --- device names and the admin socket ---------------------------------------

/// SEP + run (2 hex) + kind (1 hex) + index (9 hex): each kind has its own
/// name prefix, so it can be scheduled in bulk by prefix.
char kind_digit(Kind kind) {
    return static_cast<char>("123456789"[static_cast<int>(kind)]);
}
std::string kind_prefix(const Options& o, Kind kind) {
    return "SEP" + o.run + kind_digit(kind);
}
std::string device_name(const Options& o, Kind kind, std::size_t i) {
    char index[16];
    std::snprintf(index, sizeof index, "%09zX", i);
    return kind_prefix(o, kind) + index;
}

class Admin {
  public:
    explicit Admin(const Options& o) : o_(o) {}

    void add(Kind kind, std::size_t count, const std::string& auth_mode) {
        constexpr std::size_t chunk = 5000;
        for (std::size_t first = 0; first < count; first += chunk) {
            json devices = json::array();
            for (std::size_t i = first; i < std::min(count, first + chunk); ++i) {
                devices.push_back({{"name", device_name(o_, kind, i)},
                                   {"description", std::string("capf-load ") + kind_name(kind)},
                                   {"auth_mode", auth_mode},
                                   {"key_spec", o_.key_spec}});
            }
            call("device.add_bulk", {{"devices", devices}});
        }
    }
    void schedule(Kind kind, const char* operation) {
        call("operation.schedule", {{"operation", operation}, {"prefix", kind_prefix(o_, kind)}});
    }
    void set_auth_strings(Kind kind) {
        call("auth_string.generate", {{"prefix", kind_prefix(o_, kind)}, {"digits", 6}});
    }
    json stats() { return call("server.stats"); }
    json device(const std::string& name) { return call("device.get", {{"name", name}}); }

  private:
    /// A connection per call: capfd closes an admin connection that stays
    /// idle longer than admin.client_timeout, and a run takes longer.
    json call(const std::string& method, const json& params = json::object()) {
        capf::AdminClient client(o_.admin_socket, std::chrono::minutes(10));
        return client.call(method, params);
    }

    const Options& o_;
};

// --- the key pool -------------------------------------------------------------

/// Pre-generated phone keys, so the client spends no time on key
/// generation: only their SubjectPublicKeyInfo is ever sent.
void fill_key_pool(PhoneContext& ctx, const Options& o, Botan::RandomNumberGenerator& rng) {
    const auto spec = capf::ca::parse_key_spec(o.key_spec);
    if (!spec)
        throw std::runtime_error("--key-spec '" + o.key_spec + "' is not a phone key spec");
    ctx.rsa_keys = spec->algorithm == capf::ca::KeySpec::Algorithm::rsa;
    ctx.rsa_bits = spec->bits;
    ctx.curve = spec->bits == 256 ? 0 : spec->bits == 384 ? 1 : 2;
    for (std::size_t i = 0; i < o.key_pool; ++i) {
        std::unique_ptr<Botan::Private_Key> key;
        if (ctx.rsa_keys) {
            key = std::make_unique<Botan::RSA_PrivateKey>(rng, spec->bits);
        } else {
            const char* curves[] = {"secp256r1", "secp384r1", "secp521r1"};
            key =
                std::make_unique<Botan::ECDSA_PrivateKey>(rng, Botan::EC_Group(curves[ctx.curve]));
        }
        ctx.public_keys.push_back(key->subject_public_key());
    }
}

// --- sources -----------------------------------------------------------------

/// Loopback source addresses: role r (1 phones, 2 parked, 3 idle, 4 brute)
/// uses 127.r.x.y, `per_source` sessions to each address, so capfd's
/// per-source session cap sees a realistic spread of hosts.
asio::ip::address source_for(int role, std::size_t session, std::size_t per_source) {
    const std::size_t host = session / std::max<std::size_t>(per_source, 1);
    const auto b = static_cast<unsigned>(host / 250 % 256);
    const auto c = static_cast<unsigned>(host % 250 + 1);
    return asio::ip::make_address_v4(static_cast<asio::ip::address_v4::uint_type>(
        (127u << 24) | (static_cast<unsigned>(role) << 16) | (b << 8) | c));
}

// --- plans ---------------------------------------------------------------------

std::map<Kind, double> parse_mix(const std::string& text) {
    std::map<Kind, double> weights;
    std::stringstream in(text);
    std::string item;
    while (std::getline(in, item, ',')) {
        const auto eq = item.find('=');
        const std::string name = item.substr(0, eq);
        const double weight = eq == std::string::npos ? 1 : std::stod(item.substr(eq + 1));
        bool known = false;
        for (Kind k : {Kind::install, Kind::fetch, Kind::remove, Kind::unknown, Kind::wrong_auth}) {
            if (name == kind_name(k)) {
                weights[k] += weight;
                known = true;
            }
        }
        if (!known || weight < 0)
            throw std::runtime_error("--mix: '" + item +
                                     "' is not KIND=WEIGHT with KIND one of install, fetch, "
                                     "delete, unknown, wrong_auth");
    }
    return weights;
}

/// How many sessions of each kind make `total` in the proportions of `mix`.
std::map<Kind, std::size_t> split(const std::map<Kind, double>& mix, std::size_t total) {
    double sum = 0;
    for (const auto& [k, w] : mix)
        sum += w;
    std::map<Kind, std::size_t> out;
    std::size_t given = 0;
    for (const auto& [k, w] : mix) {
        out[k] = static_cast<std::size_t>(std::floor(static_cast<double>(total) * w / sum));
        given += out[k];
    }
    for (auto it = out.begin(); given < total && it != out.end(); ++it, ++given)
        ++it->second;  // the remainder, one each
    return out;
}

std::deque<Plan> make_plans(const Options& o, const std::map<Kind, std::size_t>& counts,
                            const std::map<std::string, std::vector<std::uint8_t>>& installed) {
    std::vector<Plan> plans;
    for (const auto& [kind, n] : counts) {
        for (std::size_t i = 0; i < n; ++i) {
            Plan p{kind, device_name(o, kind, i), i, {}, 1};
            if (kind == Kind::fetch) {
                const auto it = installed.find(p.device);
                if (it != installed.end())
                    p.lsc = it->second;
            }
            plans.push_back(std::move(p));
        }
    }
    std::mt19937 shuffle(20261201);  // the same order every run
    std::shuffle(plans.begin(), plans.end(), shuffle);
    return {std::make_move_iterator(plans.begin()), std::make_move_iterator(plans.end())};
}

// --- running sessions ------------------------------------------------------------

/// N workers take plans from a queue until it is empty (or the time is up).
/// With `retry`, a failed session goes back to the queue after a pause, as
/// a phone tries again, until `deadline`.
class Runner {
  public:
    Runner(PhoneContext& ctx, const Options& o, std::deque<Plan> plans, Tally& tally, int role)
        : ctx_(ctx), o_(o), queue_(std::move(plans)), tally_(tally), role_(role) {}

    asio::awaitable<void> run(std::size_t workers, Clock::time_point stop_taking) {
        stop_taking_ = stop_taking;
        running_ = workers;
        auto ex = co_await asio::this_coro::executor;
        for (std::size_t w = 0; w < workers; ++w)
            asio::co_spawn(ex, worker(w), asio::detached);
        asio::steady_timer poll(ex);
        while (running_ > 0) {
            poll.expires_after(std::chrono::milliseconds(20));
            co_await poll.async_wait(asio::use_awaitable);
        }
    }

    std::size_t left() const noexcept { return queue_.size() + waiting_retry_; }
    /// Workers start no new session from now on.
    void stop() noexcept { stop_taking_ = Clock::now(); }
    std::size_t already_done = 0;  ///< retries that found the work done (END_SESSION 0)
    /// Every plan goes back to the queue when its session ends (brute force).
    bool recycle = false;

  private:
    asio::awaitable<void> worker(std::size_t w) {
        asio::steady_timer pause(co_await asio::this_coro::executor);
        // The brute force comes from one peer; the others spread.
        const auto source = source_for(role_, role_ == 4 ? 0 : w, o_.per_source);
        while (Clock::now() < stop_taking_) {
            if (queue_.empty()) {
                if (waiting_retry_ == 0)
                    break;
                pause.expires_after(std::chrono::milliseconds(20));
                co_await pause.async_wait(asio::use_awaitable);
                continue;
            }
            Plan plan = std::move(queue_.front());
            queue_.pop_front();
            Result r = co_await run_phone_session(ctx_, plan, source);
            if (o_.retry && r.plan.attempt > 1 && r.plan.kind == Kind::install &&
                r.end_reason == 0) {
                ++already_done;  // an earlier attempt finished on the server's side
                continue;
            }
            tally_.add(r);
            if (recycle) {
                queue_.push_back(std::move(r.plan));
            } else if (o_.retry && !r.ok) {
                ++waiting_retry_;
                pause.expires_after(std::chrono::duration_cast<std::chrono::milliseconds>(
                    std::chrono::duration<double>(o_.retry_delay)));
                co_await pause.async_wait(asio::use_awaitable);
                --waiting_retry_;
                r.plan.attempt += 1;
                queue_.push_back(std::move(r.plan));
            }
        }
        --running_;
    }

    PhoneContext& ctx_;
    const Options& o_;
    std::deque<Plan> queue_;
    Tally& tally_;
    int role_;
    Clock::time_point stop_taking_;
    std::size_t running_ = 0;
    std::size_t waiting_retry_ = 0;
};

/// K sessions parked in key generation, at most `connecting` of them on
/// their way at once (the point is sessions held, not a connection storm).
class Parking {
  public:
    Parking(PhoneContext& ctx, const Options& o) : ctx_(ctx), o_(o) {}

    asio::awaitable<void> park_all(Clock::time_point give_up) {
        auto ex = co_await asio::this_coro::executor;
        asio::steady_timer poll(ex);
        while (ctx_.parked.size() + finished_ < o_.park && Clock::now() < give_up) {
            while (launched_ < o_.park &&
                   launched_ - ctx_.parked.size() - finished_ < o_.park_connecting) {
                asio::co_spawn(ex, one(launched_), asio::detached);
                ++launched_;
            }
            poll.expires_after(std::chrono::milliseconds(10));
            co_await poll.async_wait(asio::use_awaitable);
        }
        parked_at_peak = ctx_.parked.size();
    }

    asio::awaitable<void> release_all() {
        release_parked(ctx_);
        asio::steady_timer poll(co_await asio::this_coro::executor);
        // Every session launched has ended before this object may go.
        while (finished_ < launched_) {
            poll.expires_after(std::chrono::milliseconds(10));
            co_await poll.async_wait(asio::use_awaitable);
        }
    }

    json report() const {
        return {{"sessions", o_.park}, {"parked", parked_at_peak}, {"failures", failures_}};
    }

    std::size_t parked_at_peak = 0;

  private:
    asio::awaitable<void> one(std::size_t i) {
        Plan plan{Kind::park, device_name(o_, Kind::park, i), i, {}, 1};
        Result r = co_await run_phone_session(ctx_, plan, source_for(2, i, o_.per_source));
        ++finished_;
        if (!r.ok)
            ++failures_[r.error];
    }

    PhoneContext& ctx_;
    const Options& o_;
    std::size_t launched_ = 0, finished_ = 0;
    std::map<std::string, std::size_t> failures_;
};

/// TCP connections that never send a TLS hello, and when capfd drops them.
class IdleConnections {
  public:
    IdleConnections(PhoneContext& ctx, const Options& o) : ctx_(ctx), o_(o) {}

    void open_all(const asio::any_io_executor& ex) {
        give_up_ = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                      std::chrono::duration<double>(o_.idle_wait));
        for (std::size_t i = 0; i < o_.idle; ++i)
            asio::co_spawn(ex, one(i), asio::detached);
    }
    bool finished() const noexcept { return finished_ == o_.idle; }

    json report() const {
        return {{"connections", o_.idle},
                {"connected", connected_},
                {"dropped", dropped_after_.size()},
                {"still_open_at_give_up", connected_ - dropped_after_.size()},
                {"dropped_after_s",
                 {{"min", percentile(dropped_after_, 0)},
                  {"p50", percentile(dropped_after_, 50)},
                  {"max", percentile(dropped_after_, 100)}}}};
    }

  private:
    asio::awaitable<void> one(std::size_t i) {
        bool connected = false;
        const auto dropped = co_await run_idle_connection(
            ctx_.server, source_for(3, i, o_.per_source), give_up_, connected);
        connected_ += connected ? 1 : 0;
        if (dropped)
            dropped_after_.push_back(*dropped);
        ++finished_;
    }

    PhoneContext& ctx_;
    const Options& o_;
    Clock::time_point give_up_;
    std::size_t connected_ = 0, finished_ = 0;
    std::vector<double> dropped_after_;
};

/// Prints a progress line every second until `done` is set.
asio::awaitable<void> progress(const Tally& tally, const PhoneContext& ctx, const Options& o,
                               const bool& done, Clock::time_point start) {
    asio::steady_timer tick(co_await asio::this_coro::executor);
    std::size_t last = 0;
    auto cpu_before = o.capfd_pid ? sample_process(o.capfd_pid) : std::nullopt;
    while (!done) {
        tick.expires_after(std::chrono::seconds(1));
        co_await tick.async_wait(asio::use_awaitable);
        if (o.quiet)
            continue;
        const auto cpu = o.capfd_pid ? sample_process(o.capfd_pid) : std::nullopt;
        const double cores = cpu && cpu_before ? cpu->cpu_seconds() - cpu_before->cpu_seconds() : 0;
        cpu_before = cpu;
        std::fprintf(stderr,
                     "capf-load: %5.0f s  %zu done  %zu ok  %zu errors  %zu/s  parked %zu  "
                     "capfd %.2f cores, %.0f MiB\n",
                     std::chrono::duration<double>(Clock::now() - start).count(), tally.done(),
                     tally.ok(), tally.errors(), tally.done() - last, ctx.parked.size(), cores,
                     cpu ? cpu->rss_mib : 0.0);
        last = tally.done();
    }
}

// --- the run -------------------------------------------------------------------

struct Measured {
    double seconds = 0;
    std::optional<ProcessSample> capfd_before, capfd_after;
    double max_rss_mib = 0;
    double postgres_cpu = 0, client_cpu = 0;
};

/// The bound: two private-key operations per install, the TLS handshake's
/// with the CAPF key and the LSC's with the issuer key, each at the rate
/// Botan signs with that key per CPU-second here.
struct Bound {
    SigningRate capf, issuer;
    double installs_per_cpu_second = 0;
};

Bound measure_bound(const Options& o) {
    Bound b;
    b.capf = measure_signing(o.capf_key, o.bound_seconds);
    b.issuer = o.issuer_key.empty() || o.issuer_key == o.capf_key
                   ? b.capf
                   : measure_signing(o.issuer_key, o.bound_seconds);
    b.installs_per_cpu_second =
        1.0 / (1.0 / b.capf.signatures_per_cpu_second + 1.0 / b.issuer.signatures_per_cpu_second);
    return b;
}

/// Measured before and after the load (this machine's speed drifts); the
/// figure used is their mean.
json bound_json(const Bound& before, const Bound& after, double& installs_per_cpu_second) {
    installs_per_cpu_second = (before.installs_per_cpu_second + after.installs_per_cpu_second) / 2;
    const auto rate = [](const SigningRate& r) {
        return json{{"key", r.algorithm},
                    {"signatures_per_second", std::round(r.signatures_per_second)},
                    {"signatures_per_cpu_second", std::round(r.signatures_per_cpu_second)}};
    };
    const auto one = [&](const Bound& b) {
        return json{{"capf_key", rate(b.capf)},
                    {"issuer_key", rate(b.issuer)},
                    {"installs_per_cpu_second", std::round(b.installs_per_cpu_second * 10) / 10}};
    };
    return {{"before", one(before)},
            {"after", one(after)},
            {"installs_per_cpu_second", std::round(installs_per_cpu_second * 10) / 10},
            {"what",
             "two private-key operations per install (TLS handshake, LSC), each at the "
             "rate one reused Botan signer signs per CPU-second (Botan computes half an "
             "RSA signature on a second thread), measured before and after the load"}};
}

class Run {
  public:
    explicit Run(const Options& o) : o_(o), tally_(Clock::now()) {}

    int main() {
        raise_file_limit();
        // An HMAC_DRBG, not AutoSeeded_RNG, which reads the system generator
        // on every request: the client should spend as little as it can.
        Botan::HMAC_DRBG rng(Botan::MessageAuthenticationCode::create_or_throw("HMAC(SHA-256)"),
                             Botan::system_rng());
        policy_ = capf::test::make_phone_tls_policy(o_.tls == "legacy"
                                                        ? capf::test::PhoneTls::tls10_rsa
                                                        : capf::test::PhoneTls::tls12_ecdhe);
        if (!o_.capf_cert.empty())
            pinned_.emplace(o_.capf_cert);
        ctx_.server = asio::ip::tcp::endpoint(asio::ip::make_address(o_.host), o_.port);
        ctx_.policy = policy_.get();
        ctx_.rng = &rng;
        ctx_.pinned = pinned_ ? &*pinned_ : nullptr;
        ctx_.timeout = std::chrono::duration_cast<std::chrono::milliseconds>(
            std::chrono::duration<double>(o_.timeout));
        fill_key_pool(ctx_, o_, rng);
        counts_ = split(parse_mix(o_.mix), o_.count);
        if (!o_.admin_socket.empty())
            admin_.emplace(o_);
        if (o_.setup)
            set_up_devices();
        std::optional<Bound> before;
        if (!o_.capf_key.empty())
            before = measure_bound(o_);
        asio::io_context io;
        asio::co_spawn(io, phases(), [](std::exception_ptr e) {
            if (e)
                std::rethrow_exception(e);
        });
        io.run();
        double bound = 0;
        if (before)
            report_["bound"] = bound_json(*before, measure_bound(o_), bound);
        finish_report(bound);
        std::cout << report_.dump() << std::endl;
        write_files();
        return 0;
    }

  private:
    static void raise_file_limit() {
        rlimit l{};
        if (::getrlimit(RLIMIT_NOFILE, &l) == 0) {
            l.rlim_cur = l.rlim_max;
            ::setrlimit(RLIMIT_NOFILE, &l);
        }
    }

    void require_admin() const {
        if (!admin_)
            throw std::runtime_error("--admin-socket is needed to set up devices");
    }

    void set_up_devices() {
        require_admin();
        for (const auto& [kind, n] : counts_) {
            if (kind == Kind::unknown || n == 0)
                continue;  // never added: that is the point
            admin_->add(kind, n, kind == Kind::wrong_auth ? "auth-string" : "null-string");
            if (kind == Kind::wrong_auth)
                admin_->set_auth_strings(kind);
            // An operation pending, or capfd ends the session before it
            // authenticates anyone. Fetch and delete need an LSC first.
            admin_->schedule(kind, "install");
        }
        if (o_.park > 0) {
            admin_->add(Kind::park, o_.park, "null-string");
            admin_->schedule(Kind::park, "install");
        }
        if (o_.brute > 0) {
            admin_->add(Kind::brute, 1, "auth-string");
            admin_->set_auth_strings(Kind::brute);
            admin_->schedule(Kind::brute, "install");
        }
    }

    /// Fetch and delete need devices that hold an LSC: installed first, not
    /// timed, then scheduled.
    asio::awaitable<void> prepare_fetch_and_delete() {
        std::map<Kind, std::size_t> installs;
        for (Kind k : {Kind::fetch, Kind::remove})
            if (counts_[k] > 0)
                installs[k] = counts_[k];
        if (installs.empty())
            co_return;
        std::deque<Plan> plans = make_plans(o_, installs, {});
        for (auto& p : plans)
            p.kind = Kind::install;
        Tally prepared(Clock::now(), /*keep_lscs=*/true);
        Runner runner(ctx_, o_, std::move(plans), prepared, 1);
        co_await runner.run(o_.phones, Clock::time_point::max());
        if (prepared.errors() > 0)
            throw std::runtime_error("preparing fetch and delete: " +
                                     prepared.errors_json().dump());
        installed_ = prepared.lscs();
        if (counts_[Kind::fetch] > 0)
            admin_->schedule(Kind::fetch, "fetch");
        if (counts_[Kind::remove] > 0)
            admin_->schedule(Kind::remove, "delete");
    }

    asio::awaitable<void> phases() {
        auto ex = co_await asio::this_coro::executor;
        if (o_.setup)
            co_await prepare_fetch_and_delete();
        Parking parking(ctx_, o_);
        if (o_.park > 0) {
            co_await parking.park_all(Clock::now() + std::chrono::minutes(10));
            if (!o_.quiet)
                std::fprintf(stderr, "capf-load: %zu of %zu sessions parked\n",
                             parking.parked_at_peak, o_.park);
        }
        IdleConnections idle(ctx_, o_);
        if (o_.idle > 0)
            idle.open_all(ex);
        co_await timed_phase();
        if (o_.park > 0) {
            co_await parking.release_all();
            report_["parked"] = parking.report();
        }
        asio::steady_timer poll(ex);
        while (o_.idle > 0 && !idle.finished()) {
            poll.expires_after(std::chrono::milliseconds(50));
            co_await poll.async_wait(asio::use_awaitable);
        }
        if (o_.idle > 0)
            report_["idle"] = idle.report();
    }

    asio::awaitable<void> timed_phase() {
        auto ex = co_await asio::this_coro::executor;
        Runner runner(ctx_, o_, make_plans(o_, counts_, installed_), tally_, 1);
        std::optional<Runner> brute;
        if (o_.brute > 0) {
            std::deque<Plan> guesses;
            for (std::size_t i = 0; i < o_.brute; ++i)
                guesses.push_back(Plan{Kind::brute, device_name(o_, Kind::brute, 0), 0, {}, 1});
            brute.emplace(ctx_, o_, std::move(guesses), tally_, 4);
            brute->recycle = true;
        }
        const auto start = Clock::now();
        tally_ = Tally(start);
        measured_.capfd_before = o_.capfd_pid ? sample_process(o_.capfd_pid) : std::nullopt;
        const double pg_before = postgres_cpu_seconds(), own_before = own_cpu_seconds();
        bool brute_done = false;
        // Members, not locals: the two samplers outlive this coroutine by a tick.
        phase_done_ = false;
        asio::co_spawn(ex, progress(tally_, ctx_, o_, phase_done_, start), asio::detached);
        asio::co_spawn(ex, sample_rss(phase_done_), asio::detached);
        const auto stop_taking = o_.seconds > 0
                                     ? start + std::chrono::duration_cast<Clock::duration>(
                                                   std::chrono::duration<double>(o_.seconds))
                                     : start + std::chrono::duration_cast<Clock::duration>(
                                                   std::chrono::duration<double>(o_.deadline));
        if (brute) {
            // One peer (source 127.4.0.1) guessing at full speed for as long
            // as the other phones run.
            asio::co_spawn(
                ex,
                [&]() -> asio::awaitable<void> {
                    co_await brute->run(o_.brute, stop_taking);
                    brute_done = true;
                },
                asio::detached);
        }
        co_await runner.run(o_.phones, stop_taking);
        if (brute)
            brute->stop();
        measured_.seconds = std::chrono::duration<double>(Clock::now() - start).count();
        measured_.capfd_after = o_.capfd_pid ? sample_process(o_.capfd_pid) : std::nullopt;
        measured_.postgres_cpu = postgres_cpu_seconds() - pg_before;
        measured_.client_cpu = own_cpu_seconds() - own_before;
        phase_done_ = true;
        left_ = runner.left();
        already_done_ = runner.already_done;
        if (brute) {
            asio::steady_timer poll(ex);
            // The guessers finish their sessions in flight.
            while (!brute_done) {
                poll.expires_after(std::chrono::milliseconds(20));
                co_await poll.async_wait(asio::use_awaitable);
            }
        }
    }

    asio::awaitable<void> sample_rss(const bool& done) {
        asio::steady_timer tick(co_await asio::this_coro::executor);
        while (!done && o_.capfd_pid) {
            if (const auto s = sample_process(o_.capfd_pid))
                measured_.max_rss_mib = std::max(measured_.max_rss_mib, s->rss_mib);
            tick.expires_after(std::chrono::milliseconds(250));
            co_await tick.async_wait(asio::use_awaitable);
        }
    }

    void finish_report(double bound) {
        const double installs = static_cast<double>(tally_.ok_of(Kind::install));
        report_["phones"] = o_.phones;
        report_["mix"] = o_.mix;
        report_["key_spec"] = o_.key_spec;
        report_["tls"] = o_.tls;
        report_["seconds"] = std::round(measured_.seconds * 100) / 100;
        report_["sessions"] = tally_.done();
        report_["ok"] = tally_.ok();
        report_["error_count"] = tally_.errors();
        report_["errors"] = tally_.errors_json();
        report_["kinds"] = tally_.kinds_json();
        report_["not_run"] = left_;
        report_["stored_unconfirmed"] = tally_.stored_unconfirmed();
        if (o_.retry)
            report_["retries_found_done"] = already_done_;
        report_["installs_per_second"] = std::round(installs / measured_.seconds * 10) / 10;
        report_["client_cpu_seconds"] = std::round(measured_.client_cpu * 100) / 100;
        report_["postgres_cpu_seconds"] = std::round(measured_.postgres_cpu * 100) / 100;
        if (measured_.capfd_before && measured_.capfd_after) {
            const auto& a = *measured_.capfd_after;
            const auto& b = *measured_.capfd_before;
            const double cpu = a.cpu_seconds() - b.cpu_seconds();
            report_["capfd"] = {
                {"cpu_seconds", std::round(cpu * 100) / 100},
                {"user_seconds", std::round((a.user_seconds - b.user_seconds) * 100) / 100},
                {"system_seconds", std::round((a.system_seconds - b.system_seconds) * 100) / 100},
                {"rss_mib_max_during", std::round(measured_.max_rss_mib)},
                {"peak_rss_mib", std::round(a.peak_rss_mib)}};
            const double per_cpu = cpu > 0 ? installs / cpu : 0;
            report_["installs_per_capfd_cpu_second"] = std::round(per_cpu * 10) / 10;
            if (bound > 0)
                report_["fraction_of_bound"] = std::round(per_cpu / bound * 1000) / 1000;
        }
        if (admin_) {
            try {
                report_["fleet"] = admin_->stats()["devices"];
            } catch (const std::exception& e) {
                report_["fleet"] = std::string("server.stats failed: ") + e.what();
            }
            if (o_.brute > 0)
                report_["brute_device"] = admin_->device(device_name(o_, Kind::brute, 0));
        }
    }

    void write_files() const {
        if (!o_.timeline_file.empty()) {
            std::ofstream out(o_.timeline_file);
            for (const auto& second : tally_.timeline())
                out << second.dump() << "\n";
        }
        if (!o_.stored_file.empty()) {
            std::ofstream out(o_.stored_file);
            for (const auto& [device, held] : tally_.stored())
                out << device << "," << held.md5 << "," << (held.confirmed ? 1 : 0) << "\n";
        }
        if (!o_.held_file.empty()) {
            std::ofstream out(o_.held_file);
            for (const auto& [device, held] : tally_.held())
                out << device << "," << held.md5 << "," << (held.confirmed ? 1 : 0) << "\n";
        }
    }

    const Options& o_;
    PhoneContext ctx_;
    std::unique_ptr<Botan::TLS::Policy> policy_;
    std::optional<Botan::X509_Certificate> pinned_;
    std::optional<Admin> admin_;
    std::map<Kind, std::size_t> counts_;
    std::map<std::string, std::vector<std::uint8_t>> installed_;
    Tally tally_;
    Measured measured_;
    json report_ = json::object();
    std::size_t left_ = 0, already_done_ = 0;
    bool phase_done_ = false;
};

}  // namespace

int main(int argc, char** argv) {
    Options o;
    CLI::App app{"capf-load: simulated phones against a running capfd (tests/load/README.md)"};
    app.add_option("--host", o.host, "capfd address")->capture_default_str();
    app.add_option("--port", o.port, "capfd port")->capture_default_str();
    app.add_option("--admin-socket", o.admin_socket, "capfd's admin socket (adds and schedules)");
    app.add_option("--capf-cert", o.capf_cert, "Pin capfd's TLS certificate (PEM)");
    app.add_option("--capfd-pid", o.capfd_pid, "capfd's process id: CPU and memory from /proc");
    app.add_option("--capf-key", o.capf_key, "The CAPF key (PEM), for the crypto bound");
    app.add_option("--issuer-key", o.issuer_key, "The issuer key, when not the CAPF key");
    app.add_option("--bound-seconds", o.bound_seconds, "Seconds per key to measure the bound")
        ->capture_default_str();
    app.add_option("--phones", o.phones, "Phones at once")->capture_default_str();
    app.add_option("--count", o.count, "Sessions in the measured run")->capture_default_str();
    app.add_option("--seconds,--duration", o.seconds,
                   "Stop starting sessions (--tvs: connections) after this many seconds");
    app.add_option("--mix", o.mix, "KIND=WEIGHT,...: install, fetch, delete, unknown, wrong_auth")
        ->capture_default_str();
    app.add_option("--park", o.park, "Sessions parked in key generation beside the run");
    app.add_option("--park-connecting", o.park_connecting, "Parking sessions on their way at once")
        ->capture_default_str();
    app.add_option("--idle", o.idle, "TCP connections that never send a TLS hello");
    app.add_option("--idle-wait", o.idle_wait, "Seconds to wait for capfd to drop them")
        ->capture_default_str();
    app.add_option("--brute", o.brute,
                   "Guess one device's auth string from one peer, this many at once");
    app.add_option("--key-spec", o.key_spec, "Phone keys: rsa-2048, ec-p256, ...")
        ->capture_default_str();
    app.add_option("--key-pool", o.key_pool, "Phone keys generated before the run")
        ->capture_default_str();
    app.add_option("--run", o.run, "Two hex digits in every device name, to tell runs apart")
        ->check([](const std::string& s) {
            return s.size() == 2 && std::isxdigit(s[0]) && std::isxdigit(s[1]) ? ""
                                                                               : "two hex digits";
        })
        ->capture_default_str();
    app.add_option("--per-source", o.per_source, "Sessions per loopback source address")
        ->capture_default_str();
    app.add_option("--tls", o.tls, "tls12 (ECDHE, AEAD) or legacy (TLS 1.0, RSA key exchange)")
        ->check(CLI::IsMember({"tls12", "legacy"}))
        ->capture_default_str();
    app.add_option("--timeout", o.timeout, "Seconds a session may take")->capture_default_str();
    app.add_flag("!--no-setup", o.setup, "Devices exist and are scheduled already");
    app.add_flag("--retry", o.retry, "A failed session is tried again, as a phone does");
    app.add_option("--retry-delay", o.retry_delay, "Seconds before a retry")->capture_default_str();
    app.add_option("--deadline", o.deadline, "With --retry or no --seconds: stop after this long")
        ->capture_default_str();
    app.add_option("--timeline", o.timeline_file, "Write sessions ended per second (JSON lines)");
    app.add_option("--held", o.held_file, "Write device,md5,confirmed of each LSC phones hold");
    app.add_option("--stored", o.stored_file,
                   "Write device,md5,confirmed of every LSC a phone stored, in order");
    app.add_flag("--quiet", o.quiet, "No progress line");
    double pbkdf2_seconds = 0;
    app.add_option("--pbkdf2-rate", pbkdf2_seconds,
                   "Only measure: PBKDF2(SHA-256) iterations per second with every core hashing "
                   "for this many seconds (the bound of bulk auth strings), print it and exit");
    capf::load::TvsLoadOptions tvs;
    bool tvs_mode = false;
    app.add_flag("--tvs", tvs_mode,
                 "Verifies against a TVS port (default 2445) instead of CAPF sessions; uses "
                 "--host, --port, --tls, --capfd-pid, --count or --seconds, --timeout, "
                 "--per-source, --quiet, --bound-seconds");
    app.add_option("--cert", tvs.cert, "--tvs: the certificate every request asks about (PEM/DER)");
    app.add_option("--device", tvs.device, "--tvs: the device name sent")->capture_default_str();
    app.add_option("--tvs-cert", tvs.pinned_cert, "--tvs: pin the TVS certificate (PEM)");
    app.add_option("--connections", tvs.connections, "--tvs: connections at once")
        ->capture_default_str();
    app.add_option("--requests-per-connection", tvs.requests_per_connection,
                   "--tvs: verifies per connection (a phone sends 1)")
        ->capture_default_str();
    app.add_option("--bound-key", tvs.bound_key,
                   "--tvs: the TVS private key (PKCS#8 PEM): signatures per CPU-second, the bound");
    CLI11_PARSE(app, argc, argv);
    if (tvs_mode) {
        tvs.host = o.host;
        tvs.port = app.count("--port") > 0 ? o.port : tvs.port;
        tvs.tls = o.tls;
        tvs.capfd_pid = o.capfd_pid;
        tvs.count = o.count;
        tvs.seconds = o.seconds;
        tvs.timeout = o.timeout;
        tvs.per_source = o.per_source;
        tvs.quiet = o.quiet;
        tvs.bound_seconds = o.bound_seconds;
        try {
            return capf::load::run_tvs_load(tvs);
        } catch (const std::exception& e) {
            std::cout << json{{"error", e.what()}}.dump() << std::endl;
            return 2;
        }
    }
    for (auto& c : o.run)
        c = static_cast<char>(std::toupper(c));
    if (pbkdf2_seconds > 0) {
        const unsigned cores = std::max(1u, std::thread::hardware_concurrency());
        std::cout << json{{"pbkdf2_iterations_per_second",
                           std::llround(capf::load::measure_pbkdf2(cores, pbkdf2_seconds, 10000))},
                          {"threads", cores},
                          {"seconds", pbkdf2_seconds}}
                         .dump()
                  << std::endl;
        return 0;
    }
    try {
        return Run(o).main();
    } catch (const std::exception& e) {
        std::cout << json{{"error", e.what()}}.dump() << std::endl;
        return 2;
    }
}
