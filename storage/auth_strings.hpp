// Auth strings: the salted hashes the caller makes, the counted attempts,
// the lockout and the single use. Calls as described in devices.hpp.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "storage/connection_pool_fwd.hpp"
#include "storage/error.hpp"
#include "storage/types.hpp"

namespace capf::storage {

class AuthStrings {
  public:
    /// Lifetime: the pool must outlive the repository.
    explicit AuthStrings(ConnectionPool& pool) : pool_(pool) {}

    /// Stores an opaque salted hash made by the caller; resets failures and
    /// the lockout. Throws not_found. Audit: auth_string/set, with an empty
    /// detail (never the hash).
    void set_auth_string_hash(const std::string& name, const std::string& hash,
                              const std::string& actor);
    /// The same for many devices in one statement: (name, hash) pairs. All
    /// or nothing: throws not_found naming a missing device.
    void set_auth_string_hashes(const std::vector<std::pair<std::string, std::string>>& hashes,
                                const std::string& actor);
    /// Throws not_found. Audit: auth_string/deleted.
    void clear_auth_string(const std::string& name, const std::string& actor);
    /// The stored hash, or nothing.
    std::optional<std::string> auth_string_hash(const std::string& name);
    /// Counts one attempt with an auth string before the caller compares it,
    /// in one UPDATE ... RETURNING under the row lock, and locks the device
    /// when this attempt reaches `lockout_after`. So N concurrent guesses
    /// at a device with lockout L get at most L hashes to compare; the rest
    /// are locked_out without one. A matching attempt resets the count when
    /// it consumes the string.
    AuthStringAttempt begin_auth_string_attempt(const std::string& name, int lockout_after);
    /// A matching string is used up, if it is still `hash` (compare-and-set):
    /// of two sessions with the right string, only one gets true. Resets the
    /// failure count and the lock.
    bool consume_auth_string(const std::string& name, const std::string& hash);
    /// A comparison matched `hash`: resets the failure count if the stored
    /// hash is still `hash`. Does not clear the string (a successful
    /// operation uses it up, see OperationClaim::auth_string_hash). Unlocks
    /// only with `undo_own_lock`: when the lock was set by this very attempt
    /// (AuthStringAttempt::locked_now), which was counted before it matched.
    /// False when the string changed meanwhile.
    bool acknowledge_auth_string_match(const std::string& name, const std::string& hash,
                                       bool undo_own_lock = false);
    /// Ends a lockout: resets the failure count and the lock, keeps the
    /// string. Throws not_found. Audit: auth_string/unlocked.
    void unlock_auth_string(const std::string& name, const std::string& actor);
    /// Names of devices with an auth string set (never the string).
    std::vector<std::string> devices_with_auth_string(const std::string& name_prefix);

  private:
    ConnectionPool& pool_;
};

}  // namespace capf::storage
