#include "ca/signer_cache.hpp"

#include <botan/hmac_drbg.h>
#include <botan/mac.h>
#include <botan/system_rng.h>

#include <deque>

namespace capf::ca {
namespace {

struct CachedSigner {
    std::shared_ptr<Botan::Private_Key> key;
    std::string padding;
    Botan::Signature_Format format;
    std::unique_ptr<Botan::PK_Signer> signer;
};

struct ThreadSigners {
    // An HMAC_DRBG (NIST SP 800-90A) seeded and reseeded from the system
    // generator, as in AutoSeeded_RNG, but without the system generator
    // read AutoSeeded_RNG adds to every request (a system call each, ten
    // per install), and over SHA-256, which this CPU computes in hardware:
    // AutoSeeded_RNG's SHA-384 made the generator near 5% of an install's
    // CPU in a profile. Declared before the signers: they refer to it, so
    // it is destroyed after them.
    Botan::HMAC_DRBG rng{Botan::MessageAuthenticationCode::create_or_throw("HMAC(SHA-256)"),
                         Botan::system_rng()};
    std::deque<CachedSigner> entries;
};

ThreadSigners& this_thread() {
    thread_local ThreadSigners signers;
    return signers;
}

}  // namespace

Botan::PK_Signer& cached_signer(const std::shared_ptr<Botan::Private_Key>& key,
                                const std::string& padding, Botan::Signature_Format format) {
    auto& cache = this_thread();
    for (auto& e : cache.entries) {
        if (e.key == key && e.padding == padding && e.format == format)
            return *e.signer;
    }
    if (cache.entries.size() >= signer_cache_size)
        cache.entries.pop_front();
    auto signer = std::make_unique<Botan::PK_Signer>(*key, cache.rng, padding, format);
    cache.entries.push_back({key, padding, format, std::move(signer)});
    return *cache.entries.back().signer;
}

std::vector<std::uint8_t> sign_with_cached_signer(const std::shared_ptr<Botan::Private_Key>& key,
                                                  const std::string& padding,
                                                  std::span<const std::uint8_t> message,
                                                  Botan::RandomNumberGenerator& rng,
                                                  Botan::Signature_Format format) {
    return cached_signer(key, padding, format).sign_message(message.data(), message.size(), rng);
}

std::size_t cached_signers_on_this_thread() {
    return this_thread().entries.size();
}

Botan::RandomNumberGenerator& thread_rng() {
    return this_thread().rng;
}

void ThisThreadRng::randomize(uint8_t output[], size_t length) {
    thread_rng().randomize(output, length);
}

}  // namespace capf::ca
