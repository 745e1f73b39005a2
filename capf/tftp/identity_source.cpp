#include "capf/tftp/identity_source.hpp"

#include <set>

#include "ca/fingerprint.hpp"
#include "ca/tftp_files.hpp"

namespace capf::tftp {

IdentitySource::IdentitySource(ca::Identity initial) {
    ca::require_tftp_signing_key(initial);
    current_ = std::make_shared<const ca::Identity>(std::move(initial));
}

std::shared_ptr<const ca::Identity> IdentitySource::current() const {
    const std::lock_guard lock(mutex_);
    return current_;
}

bool IdentitySource::replace(ca::Identity next) {
    ca::require_tftp_signing_key(next);
    // Built outside the lock: readers wait only for the pointer swap.
    auto snapshot = std::make_shared<const ca::Identity>(std::move(next));
    {
        const std::lock_guard lock(mutex_);
        if (snapshot->chain == current_->chain)
            return false;
        current_.swap(snapshot);
    }
    // `snapshot` now holds the old identity: it goes here, or with the last
    // delivery still signing with it.
    return true;
}

std::vector<Botan::X509_Certificate> TvsCertificates::current() const {
    const std::lock_guard lock(mutex_);
    return certificates_;
}

bool TvsCertificates::replace(std::vector<Botan::X509_Certificate> next) {
    // As sets of fingerprints: the store lists them by age, which a node's
    // restart changes, and that alone must not rebuild the ITL.
    auto fingerprints = [](const std::vector<Botan::X509_Certificate>& list) {
        std::set<std::string> out;
        for (const auto& c : list)
            out.insert(ca::sha256_hex(c.BER_encode()));
        return out;
    };
    const std::lock_guard lock(mutex_);
    if (fingerprints(certificates_) == fingerprints(next))
        return false;
    certificates_ = std::move(next);
    return true;
}

}  // namespace capf::tftp
