// The plug between CAPF and the TFTP side (issue 12): an encryptor is told
// that a device's certificate facts changed and makes what it maintains
// match them (files in a TFTP directory, a program run, an export). Several
// may be active at once, chosen and configured by name in the config file.
//
// Encryptors are level-triggered and idempotent: deliver() writes what the
// device's CURRENT facts call for, so a retry, a duplicate or a coalesced
// notification is harmless. They are blocking and run on the blocking pool,
// off the phone's session path; a failure is logged, audited and retried by
// the delivery worker, never seen by the phone. Only the encryptors that
// failed are retried (issue 32); one whose failure cannot go away by itself
// (an EC key for enc-sgn, no source file) says so, and its delivery is
// parked until the cause changes instead of retried for ever.
//
// Several nodes may deliver to one TFTP directory. Each delivery is claimed
// with a lease, and an encryptor asks the LeaseGuard it is given before
// every effect (replacing or removing a file, starting a program), so that a
// node whose lease ran out never writes a device's older facts over the
// newer ones another node wrote after taking the delivery over (issue 32).
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "storage/types.hpp"

namespace capf::tftp {

using storage::DeliveryChange;
using storage::DeviceFacts;

enum class EncryptorErrc {
    /// The work failed (a program's status, I/O, a bad source file): the
    /// delivery is retried with backoff.
    failed,
    /// The work cannot succeed until its ParkCause changes: the delivery is
    /// parked, and retried on the device's next change, when the cause is
    /// seen to clear, or on `capfctl encrypt-config`.
    permanent,
    /// This node may no longer hold the delivery long enough for the next
    /// effect (LeaseGuard): nothing more was done; the delivery is handed
    /// back, not counted as a failure.
    lease_running_out,
};

/// Why a permanent failure cannot succeed, and so what retries it.
enum class ParkCause {
    none,
    /// The device's key is not RSA (.enc.sgn wraps its AES key with RSA
    /// only): a new LSC of the device retries it.
    key_not_rsa,
    /// The plaintext configuration is not in the source directory: retried
    /// when it appears (the worker looks every tftp.delivery.parked_recheck).
    no_source_file,
    /// The device's name cannot be a file name: only by hand.
    invalid_device_name,
};
/// "key-not-rsa", "no-source-file", "invalid-device-name" ("" for none):
/// the cause as stored and shown.
std::string_view to_text(ParkCause cause) noexcept;

/// Why what was written for a device must be withdrawn (issue 32), or
/// nothing: "removed" (there is no such device any more) or "revoked" (the
/// newest change revoked its LSC, and the facts hold no key since).
std::optional<std::string_view> withdrawal_reason(const DeviceFacts& facts,
                                                  DeliveryChange change) noexcept;

/// An encryptor could not do its work; the message is for the operator
/// (which file, which program, what failed).
class EncryptorError : public std::runtime_error {
  public:
    explicit EncryptorError(const std::string& what, EncryptorErrc code = EncryptorErrc::failed)
        : std::runtime_error(what), code_(code) {}
    /// A permanent failure, parked until `cause` changes.
    EncryptorError(ParkCause cause, const std::string& what)
        : std::runtime_error(what), code_(EncryptorErrc::permanent), cause_(cause) {}
    EncryptorErrc code() const noexcept { return code_; }
    ParkCause cause() const noexcept { return cause_; }

  private:
    EncryptorErrc code_;
    ParkCause cause_ = ParkCause::none;
};

/// How long this node may still act on a delivery it claimed.
///
/// The database sets a claim's lease_expires_at to its own now() plus the
/// lease, and another node takes the delivery over only once the
/// database's now() passes that. The worker reads this node's steady clock
/// BEFORE it sends the claim, so claimed_at + lease is never later than the
/// expiry the database recorded (the claim's transaction starts after it),
/// whatever the two hosts' wall clocks say. An effect is allowed only while
/// it will be over before three quarters of the lease have passed: the last
/// quarter absorbs a rename that stalls after the check and a step of the
/// database host's clock. What even that cannot cover (a write stalled for
/// longer) is closed by the worker, which queues the device again whenever
/// it finds at the end that its lease was lost.
///
/// A database re-check before each file would prove no more: its answer is
/// as old as the round trip by the time the rename runs, so it needs the
/// same margin, and it would cost a transaction per file.
class LeaseGuard {
  public:
    using Clock = std::chrono::steady_clock;

    /// `claimed_at`: this node's clock read before the claim was sent.
    LeaseGuard(Clock::time_point claimed_at, std::chrono::milliseconds lease) noexcept;
    /// No lease to lose: a build on demand, or a test of one encryptor.
    static LeaseGuard unlimited() noexcept;

    /// Whether `work` more (a program's timeout and kill grace, or 0 for a
    /// rename) ends before the part of the lease this node may act in.
    bool allows(std::chrono::milliseconds work) const noexcept;
    /// Throws EncryptorError(lease_running_out) naming `effect` (e.g.
    /// "replacing /srv/tftp/SEP...sgn") unless allows(work).
    void require(std::chrono::milliseconds work, std::string_view effect) const;
    /// The time left to act in (zero once it has passed).
    std::chrono::milliseconds remaining() const noexcept;

  private:
    explicit LeaseGuard(Clock::time_point act_until) noexcept : act_until_(act_until) {}
    Clock::time_point act_until_;
};

/// What an encryptor's work depends on.
enum class EncryptorScope {
    /// One device's facts: deliver() for each device.
    device,
    /// Every device's at once (an export of the fleet), or none (the ITL):
    /// deliver_fleet() once for a whole claimed batch of devices.
    fleet,
};

class Encryptor {
  public:
    virtual ~Encryptor() = default;
    /// The configured name, e.g. "enc-sgn".
    virtual std::string_view name() const = 0;
    virtual EncryptorScope scope() const { return EncryptorScope::device; }
    /// Makes the TFTP side match `facts` after `change`. Calls
    /// lease.require() before each effect. Throws EncryptorError (or any
    /// std::exception) on failure.
    virtual void deliver(const DeviceFacts& facts, DeliveryChange change,
                         const LeaseGuard& lease) = 0;
    /// Fleet scope: makes what it maintains match every device's current
    /// facts, once for any number of changed devices. Same errors as
    /// deliver(). Default: nothing (a device-scope encryptor).
    virtual void deliver_fleet(const LeaseGuard& /*lease*/) {}
    /// Whether a delivery of `device` parked with `cause` (one this
    /// encryptor raised) may succeed now, e.g. its source file appeared.
    /// Cheap (a stat) and blocking. Default: no.
    virtual bool parked_cause_cleared(const std::string& /*device*/, ParkCause /*cause*/) const {
        return false;
    }
    /// The CAPF or TFTP identity changed (start, SIGHUP, `capfd init`): e.g.
    /// the ITL is rebuilt. Default: nothing.
    virtual void identities_changed() {}
};

using Encryptors = std::vector<std::unique_ptr<Encryptor>>;

}  // namespace capf::tftp
