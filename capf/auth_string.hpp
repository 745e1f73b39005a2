// Auth strings: the 4-10 digit codes an administrator hands to a phone's
// user. Returned once when generated; stored only as salted hashes.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace capf {

inline constexpr std::size_t min_auth_string_length = 4;
inline constexpr std::size_t max_auth_string_length = 10;

/// True for 4-10 ASCII digits.
bool valid_auth_string(std::string_view s) noexcept;
/// A random auth string of `digits` digits (4-10), uniformly distributed.
std::string random_auth_string(std::size_t digits);
/// "pbkdf2-sha256$<iterations>$<salt hex>$<hash hex>" with a fresh random
/// salt. The iteration count keeps bulk generation for a fleet within
/// seconds; the lockout after a few failures is what stops guessing online.
std::string hash_auth_string(std::string_view auth_string);
/// Constant-time comparison against a stored hash; false for malformed ones.
bool check_auth_string(std::string_view auth_string, std::string_view stored_hash);

}  // namespace capf
