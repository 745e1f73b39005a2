// Reusing a private-key signature operation. Setting one up (a new
// Botan::PK_Signer) costs an RSA blinding set-up, a constant-time modular
// inverse over the modulus: a profile of `capfctl encrypt-config --all`
// found it dominating signing TFTP files, and a profile of installs found it
// to be a third of capfd's CPU (one per TLS handshake, one per LSC). One
// signer per thread, key, padding and format is set up once and reused for
// every signature after.
#pragma once

#include <botan/pk_keys.h>
#include <botan/pubkey.h>
#include <botan/rng.h>

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

namespace capf::ca {

/// This thread's signer for `key` with `padding` (e.g. "EMSA3(SHA-512)")
/// and `format` (DER_SEQUENCE for ECDSA in X.509 and TLS), set up on first
/// use. The cache holds the key (so its address is never reused while
/// cached) and draws the signer's blinding from thread_rng(). Lifetime: the
/// reference is valid on this thread until the next call; PK_Signer is not
/// thread-safe, and each thread has its own. At most `signer_cache_size`
/// entries per thread; the oldest goes.
Botan::PK_Signer& cached_signer(const std::shared_ptr<Botan::Private_Key>& key,
                                const std::string& padding,
                                Botan::Signature_Format format = Botan::IEEE_1363);

/// Signs `message` with this thread's cached signer for `key`, `padding`
/// and `format`; `rng` serves this signature (the signer's blinding keeps
/// using thread_rng()).
std::vector<std::uint8_t> sign_with_cached_signer(
    const std::shared_ptr<Botan::Private_Key>& key, const std::string& padding,
    std::span<const std::uint8_t> message, Botan::RandomNumberGenerator& rng,
    Botan::Signature_Format format = Botan::IEEE_1363);

/// How many signers this thread has set up and keeps (for tests and stats).
std::size_t cached_signers_on_this_thread();

/// This thread's random generator (an HMAC_DRBG, seeded from the system
/// generator on first use and reseeded from it every
/// BOTAN_RNG_DEFAULT_RESEED_INTERVAL requests, and after a fork): for work
/// done often, where seeding a generator each time, or asking the system
/// for each request, would cost more than the work.
Botan::RandomNumberGenerator& thread_rng();

/// A random generator that serves each call from the calling thread's
/// thread_rng(): for an object that keeps a generator but is used from
/// whichever thread runs it (a TLS session on a strand), where the system
/// generator would cost a system call for every request.
class ThisThreadRng final : public Botan::RandomNumberGenerator {
  public:
    std::string name() const override { return "this-thread"; }
    void randomize(uint8_t output[], size_t length) override;
    bool accepts_input() const override { return false; }
    void add_entropy(const uint8_t[], size_t) override {}
    void clear() override {}
    bool is_seeded() const override { return true; }
};

inline constexpr std::size_t signer_cache_size = 8;

}  // namespace capf::ca
