// The plug between CAPF and the TFTP side (issue 12): an encryptor is told
// that a device's certificate facts changed and makes what it maintains
// match them (files in a TFTP directory, a program run, an export). Several
// may be active at once, chosen and configured by name in the config file.
//
// Encryptors are level-triggered and idempotent: deliver() writes what the
// device's CURRENT facts call for, so a retry, a duplicate or a coalesced
// notification is harmless. They are blocking and run on the blocking pool,
// off the phone's session path; a failure is logged, audited and retried by
// the delivery worker, never seen by the phone.
#pragma once

#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "storage/types.hpp"

namespace capf::tftp {

using storage::DeliveryChange;
using storage::DeviceFacts;

/// An encryptor could not do its work; the message is for the operator
/// (which file, which program, what failed). The delivery is retried.
class EncryptorError : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

class Encryptor {
  public:
    virtual ~Encryptor() = default;
    /// The configured name, e.g. "enc-sgn".
    virtual std::string_view name() const = 0;
    /// Makes the TFTP side match `facts` after `change`. Throws
    /// EncryptorError (or any std::exception) on failure.
    virtual void deliver(const DeviceFacts& facts, DeliveryChange change) = 0;
    /// The CAPF or TFTP identity changed (start, SIGHUP, `capfd init`): e.g.
    /// the ITL is rebuilt. Default: nothing.
    virtual void identities_changed() {}
};

using Encryptors = std::vector<std::unique_ptr<Encryptor>>;

}  // namespace capf::tftp
