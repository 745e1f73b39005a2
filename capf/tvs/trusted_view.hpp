// The TVS's in-memory view of the trusted-certificate store (issue 34): every
// answer is read from an immutable snapshot, never from the database. The
// snapshot is replaced whole when the store's change counter moves
// (view_refresh.hpp), so an answer never sees half of a change.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

namespace capf::tvs {

/// What the store says of one certificate.
struct TrustedEntry {
    /// ITL role numbers (protocol/README.md, section 9), as answered.
    std::vector<std::uint8_t> roles;
    std::chrono::seconds ttl{0};
    std::chrono::system_clock::time_point not_after;
};

/// The store at one change-counter value. Immutable once built.
class TrustedSnapshot {
  public:
    TrustedSnapshot() = default;
    /// `entries` keyed by the SHA-256 of the certificate's DER, 64 lowercase
    /// hex digits (ca::sha256_hex).
    TrustedSnapshot(std::int64_t version, std::unordered_map<std::string, TrustedEntry> entries)
        : version_(version), entries_(std::move(entries)) {}

    /// Null when the certificate is not in the store.
    const TrustedEntry* find(const std::string& sha256_hex) const {
        const auto it = entries_.find(sha256_hex);
        return it == entries_.end() ? nullptr : &it->second;
    }
    std::int64_t version() const noexcept { return version_; }
    std::size_t size() const noexcept { return entries_.size(); }

  private:
    std::int64_t version_ = -1;  ///< -1: never loaded
    std::unordered_map<std::string, TrustedEntry> entries_;
};

/// The snapshot in use. Read by every TVS session (any I/O thread), replaced
/// by the refresher. Thread-safe.
class TrustedView {
  public:
    TrustedView() : current_(std::make_shared<const TrustedSnapshot>()) {}

    /// Keep the pointer for the length of one answer: a replace() meanwhile
    /// does not change it.
    std::shared_ptr<const TrustedSnapshot> current() const {
        const std::lock_guard lock(mutex_);
        return current_;
    }
    void replace(std::shared_ptr<const TrustedSnapshot> next) {
        const std::lock_guard lock(mutex_);
        current_ = std::move(next);
    }

  private:
    // A mutex held for a pointer copy: uncontended it costs about as much
    // as the atomic shared_ptr g++ 12 offers, and it is plainly correct.
    mutable std::mutex mutex_;
    std::shared_ptr<const TrustedSnapshot> current_;
};

}  // namespace capf::tvs
