// The TFTP signing identity in use (issue 32, item 5). SIGHUP may replace it
// while deliveries run on other pool threads, so encryptors never keep the
// identity itself: each takes a snapshot at the start of a delivery and signs
// everything of that delivery with it. A snapshot is immutable and shared, so
// a replacement never changes an identity someone is signing with; a
// delivery that started with the old one finishes with it.
#pragma once

#include <memory>
#include <mutex>
#include <vector>

#include "ca/identity.hpp"

namespace capf::tftp {

class IdentitySource {
  public:
    /// `initial` must be RSA (ca::require_tftp_signing_key; throws CaError).
    explicit IdentitySource(ca::Identity initial);

    /// The identity in use now. Never null, always RSA. Keep the pointer for
    /// as long as the work that signs with it: the next replace() does not
    /// change it. Thread-safe.
    std::shared_ptr<const ca::Identity> current() const;
    /// Makes `next` the identity in use, unless it has the same chain as the
    /// current one: whether it replaced it. Throws CaError, and replaces
    /// nothing, when `next` is not RSA. Thread-safe.
    bool replace(ca::Identity next);

  private:
    // A mutex, not std::atomic<std::shared_ptr>: read once per delivery and
    // written once per SIGHUP, it costs nothing and is plainly correct.
    mutable std::mutex mutex_;
    std::shared_ptr<const ca::Identity> current_;
};

/// The TVS certificates of every node (capfd's own, from the trusted-
/// certificate store), which the ITL lists with role TVS (21). The daemon
/// replaces the list when the store changes; encryptors read it at each
/// build. Thread-safe.
class TvsCertificates {
  public:
    std::vector<Botan::X509_Certificate> current() const;
    /// Whether `next` differs from the list in use (as a set of DER
    /// encodings); only then it replaces it, and the caller rebuilds the ITL.
    bool replace(std::vector<Botan::X509_Certificate> next);

  private:
    mutable std::mutex mutex_;
    std::vector<Botan::X509_Certificate> certificates_;
};

}  // namespace capf::tftp
