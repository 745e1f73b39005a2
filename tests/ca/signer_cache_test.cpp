// The per-thread signer cache: reused, per key and padding, per thread, and
// its signatures verify like those of a signer set up for the one message.
#include "ca/signer_cache.hpp"

#include <botan/auto_rng.h>
#include <botan/ec_group.h>
#include <botan/ecdsa.h>
#include <botan/pubkey.h>
#include <botan/rsa.h>

#include <catch2/catch.hpp>
#include <thread>

// The file's own namespace: the suite is compiled in unity batches, and its
// file-local names must not meet another file's.
namespace signer_cache_test_cases {

using namespace capf;

namespace {

std::shared_ptr<Botan::Private_Key> rsa_key() {
    static Botan::AutoSeeded_RNG rng;
    return std::make_shared<Botan::RSA_PrivateKey>(rng, 1024);
}

bool verifies(const Botan::Private_Key& key, const std::string& padding,
              const std::vector<std::uint8_t>& message, const std::vector<std::uint8_t>& sig) {
    Botan::PK_Verifier verifier(key, padding);
    return verifier.verify_message(message, sig);
}

}  // namespace

TEST_CASE("signer cache: one signer per thread, key and padding, set up once and reused") {
    const auto key = rsa_key();
    const auto other = rsa_key();
    auto& first = ca::cached_signer(key, "EMSA3(SHA-512)");
    CHECK(&ca::cached_signer(key, "EMSA3(SHA-512)") == &first);
    CHECK(&ca::cached_signer(key, "EMSA3(SHA-160)") != &first);
    CHECK(&ca::cached_signer(other, "EMSA3(SHA-512)") != &first);
    const Botan::PK_Signer* on_another_thread = nullptr;
    std::thread([&] { on_another_thread = &ca::cached_signer(key, "EMSA3(SHA-512)"); }).join();
    CHECK(on_another_thread != &first);
}

TEST_CASE("signer cache: every signature of a reused signer verifies, for each key") {
    Botan::AutoSeeded_RNG rng;
    const auto a = rsa_key();
    const auto b = rsa_key();
    for (int i = 0; i < 20; ++i) {
        const std::vector<std::uint8_t> message(static_cast<std::size_t>(i) * 7, 'm');
        const auto& key = i % 2 ? a : b;
        const auto sig = ca::sign_with_cached_signer(key, "EMSA3(SHA-512)", message, rng);
        CHECK(verifies(*key, "EMSA3(SHA-512)", message, sig));
        CHECK_FALSE(verifies(*(i % 2 ? b : a), "EMSA3(SHA-512)", message, sig));
    }
}

TEST_CASE(
    "signer cache: beyond its size it keeps the newest signer and still signs for an evicted key") {
    std::vector<std::shared_ptr<Botan::Private_Key>> keys;
    for (std::size_t i = 0; i <= ca::signer_cache_size; ++i)
        keys.push_back(rsa_key());
    std::vector<const Botan::PK_Signer*> signers;
    for (const auto& k : keys)
        signers.push_back(&ca::cached_signer(k, "EMSA3(SHA-256)"));
    CHECK(&ca::cached_signer(keys.back(), "EMSA3(SHA-256)") == signers.back());
    Botan::AutoSeeded_RNG rng;
    const std::vector<std::uint8_t> message{1, 2, 3};
    // The first was evicted; a new one still signs correctly.
    CHECK(verifies(*keys.front(), "EMSA3(SHA-256)", message,
                   ca::sign_with_cached_signer(keys.front(), "EMSA3(SHA-256)", message, rng)));
}

TEST_CASE(
    "signer cache: an ECDSA key signs in DER for X.509 and TLS with a separate entry per format") {
    Botan::AutoSeeded_RNG rng;
    const std::shared_ptr<Botan::Private_Key> key =
        std::make_shared<Botan::ECDSA_PrivateKey>(rng, Botan::EC_Group("secp256r1"));
    const std::vector<std::uint8_t> message{4, 5, 6};
    const auto der =
        ca::sign_with_cached_signer(key, "EMSA1(SHA-256)", message, rng, Botan::DER_SEQUENCE);
    CHECK(der.front() == 0x30);  // an ASN.1 SEQUENCE of r and s
    Botan::PK_Verifier in_der(*key, "EMSA1(SHA-256)", Botan::DER_SEQUENCE);
    CHECK(in_der.verify_message(message, der));
    const auto raw = ca::sign_with_cached_signer(key, "EMSA1(SHA-256)", message, rng);
    CHECK(raw.size() == 64);  // r || s
    Botan::PK_Verifier in_raw(*key, "EMSA1(SHA-256)");
    CHECK(in_raw.verify_message(message, raw));
    CHECK(&ca::cached_signer(key, "EMSA1(SHA-256)", Botan::DER_SEQUENCE) !=
          &ca::cached_signer(key, "EMSA1(SHA-256)"));
}

TEST_CASE("thread rng: each thread has its own generator and ThisThreadRng serves the caller's") {
    auto& mine = ca::thread_rng();
    CHECK(&ca::thread_rng() == &mine);
    const Botan::RandomNumberGenerator* theirs = nullptr;
    std::thread([&] { theirs = &ca::thread_rng(); }).join();
    CHECK(theirs != &mine);
    ca::ThisThreadRng shared;
    CHECK(shared.is_seeded());
    std::vector<std::uint8_t> a(32), b(32);
    shared.randomize(a.data(), a.size());
    std::thread([&] { shared.randomize(b.data(), b.size()); }).join();
    CHECK(a != b);
    CHECK(a != std::vector<std::uint8_t>(32, 0));
    // Output goes on changing from call to call.
    std::vector<std::uint8_t> c(32);
    shared.randomize(c.data(), c.size());
    CHECK(c != a);
}

}  // namespace signer_cache_test_cases
