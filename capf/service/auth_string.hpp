// Auth strings: the 4-10 digit codes an administrator hands to a phone's
// user. Returned once when generated; stored only as salted hashes.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace capf {

inline constexpr std::size_t min_auth_string_length = 4;
inline constexpr std::size_t max_auth_string_length = 10;

/// True for 4-10 ASCII digits.
bool valid_auth_string(std::string_view s) noexcept;
/// A random auth string of `digits` digits (4-10), uniformly distributed.
std::string random_auth_string(std::size_t digits);
inline constexpr unsigned default_auth_hash_iterations = 10000;

/// "pbkdf2-sha256$<iterations>$<salt hex>$<hash hex>" with a fresh random
/// salt. A 4-10 digit string cannot be made safe against offline guessing
/// by any affordable iteration count; what protects it is single use, the
/// lockout after a few failures, and the database's access control. The
/// count keeps a stolen table from being read at a glance while keeping
/// bulk generation for a fleet within seconds.
std::string hash_auth_string(std::string_view auth_string,
                             unsigned iterations = default_auth_hash_iterations);
/// Hashes many strings at once on up to `threads` threads (the bulk path:
/// 10,000 phones in one call). Result i is the hash of secrets[i].
std::vector<std::string> hash_auth_strings(const std::vector<std::string>& secrets,
                                           unsigned iterations, unsigned threads);
/// Constant-time comparison against a stored hash; false for malformed ones.
bool check_auth_string(std::string_view auth_string, std::string_view stored_hash);

}  // namespace capf
