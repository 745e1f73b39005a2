// Shared material for the ca/ tests: keys made once per test binary (RSA
// 4096 is slow, more so under sanitizers), temp files, running openssl.
#pragma once

#include <botan/auto_rng.h>
#include <botan/ec_group.h>
#include <botan/ecdsa.h>
#include <botan/rsa.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <string>

#include "ca/identity.hpp"
#include "ca/key_spec.hpp"

namespace capf::test {

inline std::string run(const std::string& command, int& status) {
    std::string out;
    FILE* pipe = ::popen((command + " 2>&1").c_str(), "r");
    REQUIRE(pipe != nullptr);
    char buf[512];
    while (std::fgets(buf, sizeof buf, pipe) != nullptr)
        out += buf;
    status = ::pclose(pipe);
    return out;
}

class TempDir {
  public:
    TempDir() {
        char tmpl[] = "/tmp/capf-ca-XXXXXX";
        REQUIRE(::mkdtemp(tmpl) != nullptr);
        path_ = tmpl;
    }
    ~TempDir() { std::filesystem::remove_all(path_); }
    std::filesystem::path operator/(const std::string& name) const { return path_ / name; }
    const std::filesystem::path& path() const { return path_; }

  private:
    std::filesystem::path path_;
};

inline void write_bytes(const std::filesystem::path& p, const std::vector<std::uint8_t>& b) {
    std::ofstream(p, std::ios::binary)
        .write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
}
inline void write_text(const std::filesystem::path& p, const std::string& s) {
    std::ofstream(p) << s;
}

/// A phone key of the given spec, generated once per test run.
inline const Botan::Private_Key& phone_key(const ca::KeySpec& spec) {
    // Never destroyed: Botan's secure allocator is a static that may be gone
    // by the time a static cache of ours would be destroyed at exit.
    static auto* cache = new std::map<std::string, std::unique_ptr<Botan::Private_Key>>();
    auto& slot = (*cache)[spec.text()];
    if (!slot) {
        Botan::AutoSeeded_RNG rng;
        if (spec.algorithm == ca::KeySpec::Algorithm::rsa) {
            slot = std::make_unique<Botan::RSA_PrivateKey>(rng, spec.bits);
        } else {
            const char* curve = spec.bits == 256   ? "secp256r1"
                                : spec.bits == 384 ? "secp384r1"
                                                   : "secp521r1";
            slot = std::make_unique<Botan::ECDSA_PrivateKey>(rng, Botan::EC_Group(curve));
        }
    }
    return *slot;
}

inline ca::Identity make_ca(const std::string& cn, unsigned days = 3650,
                            ca::KeySpec key = {ca::KeySpec::Algorithm::rsa, 2048}) {
    ca::IdentityProfile profile;
    profile.common_name = cn;
    profile.organization = "Example Hospital";
    profile.organizational_unit = "Telecom";
    profile.country = "US";
    profile.key = key;
    profile.validity_days = days;
    return ca::generate_identity(profile);
}

}  // namespace capf::test
