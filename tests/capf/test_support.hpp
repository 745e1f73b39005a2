// Helpers shared by the capf/ tests: running commands, a throwaway TLS
// server identity made with openssl.
#pragma once

#include <botan/data_src.h>
#include <botan/pkcs8.h>
#include <botan/x509cert.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
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

}  // namespace capf::test
