// The `exec` encryptor (issue 12): for any other TFTP or provisioning
// system, runs a configured program with a device's facts as JSON on its
// standard input. Success is exit status 0; anything else is an
// EncryptorError the delivery worker logs, audits and retries.
#pragma once

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include "capf/common/config.hpp"
#include "capf/tftp/encryptor.hpp"

namespace capf::tftp {

/// The configuration's `exec` entry: argv (no shell) and the timeout after
/// which the program's process group is terminated.
using capf::ExecEncryptorConfig;

/// The JSON document the program reads on stdin, one object:
///   {"device": NAME, "event": "changed|withdrawn", "reason": null|"revoked"|"removed",
///    "change": "installed|fetched|deleted|requested|revoked|removed",
///    "md5": HEX, "key_spec": SPEC,
///    "certificate_pem": PEM or null, "public_key_pem": PEM or null}
/// "withdrawn": what the program keeps for the device must go (its LSC was
/// revoked, or the device removed; the certificate and key are null).
std::string exec_facts_json(const DeviceFacts& facts, DeliveryChange change);

class ExecEncryptor final : public Encryptor {
  public:
    /// Throws EncryptorError when config.argv is empty.
    explicit ExecEncryptor(ExecEncryptorConfig config);

    std::string_view name() const override { return "exec"; }

    /// Runs the program (blocking, for the blocking pool) with the facts on
    /// stdin and the minimal environment of ProgramRun, only when `lease`
    /// allows its whole timeout and kill grace (a program still running
    /// when another node takes the delivery over could push older facts
    /// after the newer ones). Throws EncryptorError naming the program and
    /// its exit status, signal or timeout, with the first lines of its
    /// output, unless it exits 0; or when it cannot be started, or the lease
    /// does not allow it (lease_running_out).
    void deliver(const DeviceFacts& facts, DeliveryChange change, const LeaseGuard& lease) override;

  private:
    ExecEncryptorConfig config_;
};

}  // namespace capf::tftp
