#include "capf/tftp/identity_source.hpp"

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

}  // namespace capf::tftp
