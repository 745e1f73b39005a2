// What the CAPF dialogue needs from the rest of the service, as interfaces:
// the device records (storage/), the authority (ca/) and the connection to
// the phone. The dialogue is tested against in-memory fakes of these, and
// the service plugs in adapters over PostgreSQL and Botan (capf/service).
//
// The vocabulary is the modules' own: storage's Operation, AuthMode,
// OperationClaim, IssuedCertificateRecord and AuditEvent (whose `peer` is
// the actor: the phone's address), ca's KeySpec. Those headers
// hold plain values (no libpqxx, no Botan), so the dialogue never sees SQL
// or TLS.
//
// DeviceStore and Authority are blocking: the dialogue calls them on the
// BlockingPool, never on an I/O thread.
#pragma once

#include <asio/awaitable.hpp>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "ca/key_spec.hpp"
#include "capf/common/deadline.hpp"
#include "protocol/message.hpp"
#include "storage/types.hpp"

namespace capf {

using storage::AuditEvent;
using storage::AuthMode;
using storage::CertificateStanding;
using storage::ClaimExpectation;
using storage::ClaimOutcome;
using storage::IssuedCertificateRecord;
using storage::Operation;
using storage::OperationClaim;
using storage::PresentedConfirmation;

/// A device as the dialogue sees it once the phone has named itself.
struct DeviceForSession {
    std::string name;
    Operation operation = Operation::none;
    AuthMode auth_mode = AuthMode::null_string;
    ca::KeySpec key_spec;
    bool deadline_passed = false;
    bool require_sudi = false;  ///< certificate authentication must carry a valid SUDI
};

enum class AuthStringCheck {
    accepted,    ///< matched; used up only when the operation claimed with it succeeds
    mismatch,    ///< wrong string; the failure was counted
    none_set,    ///< no auth string was generated for this device
    locked_out,  ///< too many failures; an administrator must unlock or set a new one
};

struct AuthStringVerdict {
    AuthStringCheck check = AuthStringCheck::mismatch;
    /// When accepted: the stored hash that matched. The claim carries it, so
    /// the string is used up with the operation's success (and a claim made
    /// after an administrator set another string is refused).
    std::optional<std::string> matched_hash;
};

/// Device records. Implementations throw StoreUnavailable when the database
/// cannot be reached; the dialogue then refuses the phone cleanly. `peer`
/// is the phone's address, recorded with every change as its actor.
class DeviceStore {
  public:
    virtual ~DeviceStore() = default;
    virtual std::optional<DeviceForSession> find_device(const std::string& name) = 0;

    struct Lookup {
        std::optional<DeviceForSession> device;
        /// Set when the device is under the null string with an operation
        /// pending and its deadline not passed: nothing is left to check,
        /// so it was claimed (or found held) with the lookup.
        std::optional<ClaimOutcome> claim;
    };
    /// find_device, and for a device open under the null string also
    /// `authenticated` audited and claim_operation: one trip where the null
    /// string leaves nothing in between. The real store makes it one
    /// statement; this default makes the calls one after the other.
    virtual Lookup find_and_claim_null_string(const std::string& name, const std::string& node,
                                              const AuditEvent& authenticated) {
        Lookup out{find_device(name), std::nullopt};
        const auto& d = out.device;
        if (d && d->auth_mode == AuthMode::null_string && d->operation != Operation::none &&
            !d->deadline_passed) {
            AuditEvent audit = authenticated;
            audit.device = d->name;
            out.claim = claim_operation(
                d->name, node, ClaimExpectation{d->operation, AuthMode::null_string, {}, audit});
        }
        return out;
    }

    virtual AuthStringVerdict check_auth_string(const std::string& device,
                                                const std::string& auth_string) = 0;
    /// The pending operation, if it is still what the phone authenticated
    /// for (`expected`): otherwise operation_changed, never a claim under a
    /// weaker mode than the one that was checked.
    virtual ClaimOutcome claim_operation(const std::string& device, const std::string& node,
                                         const ClaimExpectation& expected) = 0;
    /// Where a certificate presented for LSC authentication stands.
    virtual CertificateStanding certificate_standing(const std::string& device,
                                                     const std::string& serial_hex) = 0;
    /// A certificate whose outcome was unknown (the session ended after it
    /// was sent) was presented with a valid proof: the phone holds it.
    virtual PresentedConfirmation confirm_presented(const std::string& device,
                                                    const std::string& serial_hex,
                                                    const std::vector<std::uint8_t>& public_key_der,
                                                    const std::string& peer) = 0;
    /// The session that held `claim` has ended, whatever its outcome (an
    /// in-memory note; it must not block).
    virtual void release_claim(const OperationClaim& /*claim*/) {}
    /// Recorded before the certificate is sent to the phone.
    virtual void record_issued(const OperationClaim& claim, const IssuedCertificateRecord& cert,
                               const std::string& peer) = 0;
    /// The phone stored it: it is now the device's current LSC.
    virtual void record_store_confirmed(const OperationClaim& claim,
                                        const IssuedCertificateRecord& cert,
                                        const std::string& peer) = 0;
    virtual void record_fetched(const OperationClaim& claim, const std::vector<std::uint8_t>& der,
                                const std::string& md5_hex,
                                const std::vector<std::uint8_t>& public_key_der,
                                const std::string& peer) = 0;
    virtual void record_deleted(const OperationClaim& claim, const std::string& peer) = 0;
    /// The phone refused the certificate in STORE_CERT_RESPONSE: it can
    /// never authenticate, and the operation failed.
    virtual void record_store_refused(const OperationClaim& claim, const std::string& serial_hex,
                                      const std::string& reason, const std::string& peer) = 0;
    virtual void record_failure(const OperationClaim& claim, const std::string& reason,
                                const std::string& peer) = 0;
    virtual void audit(const AuditEvent& event) = 0;
    /// An event about a peer that has not authenticated: it named no known
    /// device (`event.device` empty), or a known one without proving itself.
    /// Such a peer can cause them at will, so they are rate limited per
    /// source address and device: a counter per minute, not a row per attempt.
    virtual void audit_unauthenticated(const AuditEvent& event) = 0;
};

class StoreUnavailable : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

/// An outcome was refused because an administrator changed what the session
/// authenticated against (the device's auth mode) after the claim: the
/// session must not finish under the old mode. The message says what changed.
class OperationChanged : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

enum class CertificateRole { lsc, mic };

/// The pieces of an AUTH_RESPONSE that prove a certificate's key.
struct PresentedCertificate {
    CertificateRole role = CertificateRole::lsc;
    std::vector<std::uint8_t> der;
    std::vector<std::uint8_t> signed_data;  ///< SHA-1 proof
    std::uint8_t sha2_hash_id = 0;
    std::vector<std::uint8_t> sha2_signed_data;
    std::optional<protocol::SudiData> sudi;
    /// Further CERTIFICATE elements: intermediates between it and an anchor.
    std::vector<std::vector<std::uint8_t>> intermediates;
    bool require_sudi = false;  ///< the device's own setting (the authority adds the global one)
};

/// Empty when verified; otherwise the specific cause, e.g. "untrusted_chain".
using VerificationFailure = std::optional<std::string>;

struct CertificateVerdict {
    VerificationFailure failure;
    std::string serial_hex;  ///< of the verified certificate
    std::vector<std::uint8_t> public_key_der;
    /// What the SUDI amounted to, for the authentication's audit: empty when
    /// none was sent, "sudi_verified", or "sudi_unverified: no sudi-root
    /// anchor configured" (accepted, but nothing vouches for it).
    std::string sudi_evidence;
};

class KeyRejected : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

class Authority {
  public:
    virtual ~Authority() = default;
    virtual CertificateVerdict verify_presented(const std::string& device,
                                                const PresentedCertificate& presented,
                                                std::uint32_t session_id) = 0;
    /// Whether a certificate a phone returned for fetch belongs to the
    /// device: it chains to the issuer or a MIC root and names the device.
    virtual VerificationFailure check_fetched(const std::string& device,
                                              const std::vector<std::uint8_t>& der) = 0;
    /// Throws KeyRejected when the key is not the one requested.
    virtual IssuedCertificateRecord issue_lsc(const std::string& device,
                                              const std::vector<std::uint8_t>& public_key_der,
                                              const ca::KeySpec& requested) = 0;
    /// MD5 (hex) and public key of a certificate the phone returned;
    /// nothing when it does not parse.
    virtual std::optional<std::pair<std::string, std::vector<std::uint8_t>>> describe_certificate(
        const std::vector<std::uint8_t>& der) = 0;
};

/// The phone hung up: it closed the connection, sent a TLS alert, or the
/// connection was reset. Nothing more can be sent to it.
class PeerClosed : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

/// The CAPF connection to one phone. Its whole contract is three
/// exceptions: receive() throws protocol::ProtocolError for bad input,
/// TimedOut at the deadline, and PeerClosed when the phone is gone (send()
/// throws the last two). Nothing else of the transport escapes.
class MessageChannel {
  public:
    virtual ~MessageChannel() = default;
    virtual asio::awaitable<void> send(const protocol::Message& message) = 0;
    virtual asio::awaitable<protocol::Message> receive(Deadline deadline) = 0;
    /// From now on messages must carry this session id.
    virtual void expect_session_id(std::uint32_t session_id) = 0;
};

}  // namespace capf
