// The per-thread signer cache: reused, per key and padding, per thread, and
// its signatures verify like those of a signer set up for the one message.
#include "ca/signer_cache.hpp"

#include <botan/auto_rng.h>
#include <botan/pubkey.h>
#include <botan/rsa.h>

#include <catch2/catch.hpp>
#include <thread>

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
