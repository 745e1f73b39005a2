#include "ca/signer_cache.hpp"

#include <botan/auto_rng.h>

#include <deque>

namespace capf::ca {
namespace {

struct CachedSigner {
    std::shared_ptr<Botan::Private_Key> key;
    std::string padding;
    std::unique_ptr<Botan::PK_Signer> signer;
};

struct ThreadSigners {
    // Declared before the signers: they refer to it, so it is destroyed after them.
    Botan::AutoSeeded_RNG rng;
    std::deque<CachedSigner> entries;
};

ThreadSigners& this_thread() {
    thread_local ThreadSigners signers;
    return signers;
}

}  // namespace

Botan::PK_Signer& cached_signer(const std::shared_ptr<Botan::Private_Key>& key,
                                const std::string& padding) {
    auto& cache = this_thread();
    for (auto& e : cache.entries) {
        if (e.key == key && e.padding == padding)
            return *e.signer;
    }
    if (cache.entries.size() >= signer_cache_size)
        cache.entries.pop_front();
    auto signer = std::make_unique<Botan::PK_Signer>(*key, cache.rng, padding);
    cache.entries.push_back({key, padding, std::move(signer)});
    return *cache.entries.back().signer;
}

std::vector<std::uint8_t> sign_with_cached_signer(const std::shared_ptr<Botan::Private_Key>& key,
                                                  const std::string& padding,
                                                  std::span<const std::uint8_t> message,
                                                  Botan::RandomNumberGenerator& rng) {
    return cached_signer(key, padding).sign_message(message.data(), message.size(), rng);
}

}  // namespace capf::ca
