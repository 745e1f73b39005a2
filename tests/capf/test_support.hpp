// Helpers shared by the capf/ tests: running commands, a throwaway TLS
// server identity made with openssl, stopping servers while peers connect.
#pragma once

#include <botan/data_src.h>
#include <botan/pkcs8.h>
#include <botan/x509cert.h>

#include <asio/io_context.hpp>
#include <asio/post.hpp>
#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <future>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace capf::test {

/// Runs a shell command; returns stdout+stderr and sets the wait status.
inline std::string run_command(const std::string& command, int& status) {
    std::string out;
    FILE* pipe = ::popen((command + " 2>&1").c_str(), "r");
    REQUIRE(pipe != nullptr);
    char buf[512];
    while (std::fgets(buf, sizeof buf, pipe) != nullptr) {
        out += buf;
    }
    status = ::pclose(pipe);
    return out;
}

/// A self-signed RSA 2048 server identity, made once per test binary.
struct TestIdentity {
    std::filesystem::path dir;
    std::vector<Botan::X509_Certificate> chain;
    std::shared_ptr<Botan::Private_Key> key;

    TestIdentity() {
        char tmpl[] = "/tmp/capf-tls-XXXXXX";
        REQUIRE(::mkdtemp(tmpl) != nullptr);
        dir = tmpl;
        int status = 0;
        const std::string out = run_command(
            "openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=CAPF-test -keyout " +
                (dir / "key.pem").string() + " -out " + (dir / "cert.pem").string(),
            status);
        INFO(out);
        REQUIRE(status == 0);
        chain.emplace_back((dir / "cert.pem").string());
        {
            Botan::DataSource_Stream key_source((dir / "key.pem").string());
            key = Botan::PKCS8::load_key(key_source);
        }
        std::filesystem::remove_all(dir);  // everything is in memory now
    }

    static TestIdentity& shared() {
        // Never destroyed: Botan's secure allocator, which holds the key, is
        // a static that may already be gone when ours would be destroyed.
        static auto* id = new TestIdentity();
        return *id;
    }
};

/// What stop_while_connecting() saw, round by round.
struct StopRounds {
    int refused_after_stop = 0;  ///< rounds in which connecting failed after stop()
    int runs_ended = 0;          ///< rounds in which io.run() returned by itself
};

/// For stop() racing the accept loop: `rounds` times, `make(io)` returns a
/// started server, `io` runs on two threads while a third keeps calling
/// `refused(server)` (one connection attempt: true when nothing listens any
/// more), and `server.stop()` is posted to `io` once `accepted(server)`
/// reaches a count that differs from round to round. Then connecting must
/// fail, and both threads must return from io.run() within 10 s.
template <typename Make, typename Refused, typename Accepted>
StopRounds stop_while_connecting(int rounds, Make make, Refused refused, Accepted accepted) {
    using namespace std::chrono_literals;
    StopRounds seen;
    for (int round = 0; round < rounds; ++round) {
        asio::io_context io;
        auto server = make(io);
        std::vector<std::thread> io_threads;
        for (int i = 0; i < 2; ++i)
            io_threads.emplace_back([&io] { io.run(); });
        std::atomic<bool> connecting{true};
        std::atomic<bool> was_refused{false};
        std::thread peers([&] {
            while (connecting.load()) {
                if (refused(*server))
                    was_refused = true;
            }
        });
        const auto before_stop = 3 + static_cast<std::uint64_t>(round % 7) * 5;
        const auto accepting_until = std::chrono::steady_clock::now() + 5s;
        while (accepted(*server) < before_stop &&
               std::chrono::steady_clock::now() < accepting_until)
            std::this_thread::yield();
        asio::post(io, [&server] { server->stop(); });
        const auto refused_by = std::chrono::steady_clock::now() + 5s;
        while (!was_refused.load() && std::chrono::steady_clock::now() < refused_by)
            std::this_thread::sleep_for(1ms);
        connecting = false;
        peers.join();
        seen.refused_after_stop += was_refused.load() ? 1 : 0;

        std::promise<void> joined;
        auto done = joined.get_future();
        std::thread joiner([&] {
            for (auto& t : io_threads)
                t.join();
            joined.set_value();
        });
        const bool ended = done.wait_for(10s) == std::future_status::ready;
        if (!ended)
            io.stop();  // so the test reports instead of hanging
        joiner.join();
        seen.runs_ended += ended ? 1 : 0;
    }
    return seen;
}

}  // namespace capf::test
