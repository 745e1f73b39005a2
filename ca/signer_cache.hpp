// Reusing a private-key signature operation. Setting one up (a new
// Botan::PK_Signer) costs an RSA blinding set-up, a constant-time modular
// inverse over the modulus, which a profile of `capfctl encrypt-config --all`
// found to dominate signing TFTP files. One signer per thread, key and
// padding is set up once and reused for every signature after.
#pragma once

#include <botan/pk_keys.h>
#include <botan/pubkey.h>

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

namespace capf::ca {

/// This thread's signer for `key` with `padding` (e.g. "EMSA3(SHA-512)"),
/// set up on first use. The cache holds the key (so its address is never
/// reused while cached) and its own random generator (which the signer's
/// blinding keeps using). Lifetime: the reference is valid on this thread
/// until the next call; PK_Signer is not thread-safe, and each thread has
/// its own. At most `signer_cache_size` entries per thread; the oldest goes.
Botan::PK_Signer& cached_signer(const std::shared_ptr<Botan::Private_Key>& key,
                                const std::string& padding);

/// Signs `message` with this thread's cached signer for `key` and
/// `padding`; `rng` serves this signature (the signer's blinding keeps the
/// cache's own).
std::vector<std::uint8_t> sign_with_cached_signer(const std::shared_ptr<Botan::Private_Key>& key,
                                                  const std::string& padding,
                                                  std::span<const std::uint8_t> message,
                                                  Botan::RandomNumberGenerator& rng);

inline constexpr std::size_t signer_cache_size = 8;

}  // namespace capf::ca
