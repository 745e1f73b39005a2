// The CAPF dialogue of one phone session (protocol/README.md, section 5):
// one coroutine that reads top to bottom, from AUTH_REQUEST to END_SESSION.
#pragma once

#include <asio/awaitable.hpp>
#include <chrono>
#include <exception>
#include <optional>
#include <string>

#include "capf/common/blocking_pool.hpp"
#include "capf/dialogue/outcome.hpp"
#include "capf/dialogue/ports.hpp"

namespace capf {

struct DialogueSettings {
    std::string node;
    std::chrono::milliseconds read_timeout = std::chrono::seconds(60);
    /// How long a phone has to send AUTH_RESPONSE: shorter than read_timeout,
    /// so unauthenticated peers cannot hold session slots for long.
    std::chrono::milliseconds auth_timeout = std::chrono::seconds(10);
    std::chrono::milliseconds keygen_timeout = std::chrono::minutes(30);
    unsigned keygen_retries = 3;
};

/// Lifetime: every reference must outlive run().
class Dialogue {
  public:
    /// `peer` is the phone's address: the actor of every change it causes.
    Dialogue(DialogueSettings settings, DeviceStore& store, Authority& authority,
             BlockingPool& pool, std::string peer);

    /// Runs the whole dialogue on `channel` with the given session id.
    /// Never throws: every failure ends as an outcome (and, where the phone
    /// can still hear it, an END_SESSION).
    asio::awaitable<SessionOutcome> run(MessageChannel& channel, std::uint32_t session_id);

    /// Thrown inside the dialogue to finish with a given outcome.
    struct Ended;

  private:
    asio::awaitable<void> converse(MessageChannel& channel, std::uint32_t session_id);
    asio::awaitable<DeviceForSession> identify(const protocol::Message& auth_response);
    /// True when authenticating already finished the session's work (an
    /// unknown-outcome LSC presented completed the install).
    asio::awaitable<bool> authenticate(const DeviceForSession& device,
                                       const protocol::Message& auth_response,
                                       std::uint32_t session_id);
    asio::awaitable<void> check_auth_string(const DeviceForSession& device,
                                            const protocol::Message& auth_response);
    asio::awaitable<bool> verify_certificate(const DeviceForSession& device,
                                             const protocol::Message& auth_response,
                                             std::uint32_t session_id);
    /// LSC authentication: only the current LSC, or one whose outcome is
    /// unknown (which presenting it confirms). True when that confirmation
    /// completed the device's install: nothing more to do.
    asio::awaitable<bool> check_lsc_standing(const DeviceForSession& device,
                                             const CertificateVerdict& verdict);
    asio::awaitable<void> claim(const DeviceForSession& device);
    asio::awaitable<void> install(MessageChannel& channel, std::uint32_t session_id);
    asio::awaitable<std::vector<std::uint8_t>> request_public_key(MessageChannel& channel,
                                                                  std::uint32_t session_id,
                                                                  const ca::KeySpec& spec);
    asio::awaitable<void> fetch(MessageChannel& channel, std::uint32_t session_id);
    /// A fetched certificate must be the device's (and, with certificate
    /// authentication, the one the phone authenticated with).
    asio::awaitable<void> check_fetched(const std::vector<std::uint8_t>& der);
    asio::awaitable<void> remove(MessageChannel& channel, std::uint32_t session_id);
    asio::awaitable<void> end_session(MessageChannel& channel, std::uint32_t session_id,
                                      protocol::Reason reason);
    asio::awaitable<protocol::Message> receive(MessageChannel& channel, protocol::Command expected,
                                               Deadline deadline);
    /// Sends `request` and reads the reply, which must be `expected`.
    asio::awaitable<protocol::Message> exchange(MessageChannel& channel,
                                                const protocol::Message& request,
                                                protocol::Command expected);
    asio::awaitable<void> record_end();
    void succeed(SessionCause cause, std::string detail = {});
    void audit_best_effort(const AuditEvent& event);
    /// "authentication accepted" of `device` under `mode`, as the claim audits it.
    AuditEvent accepted_audit(const std::string& device, AuthMode mode) const;
    void audit_session_end(const std::string& cause);

    DialogueSettings settings_;
    DeviceStore& store_;
    Authority& authority_;
    BlockingPool& pool_;
    std::string peer_;
    SessionOutcome outcome_;
    std::optional<OperationClaim> claim_;
    /// What authentication established, bound into the claim.
    std::optional<std::string> matched_auth_string_hash_;
    /// "authentication accepted", written with the claim.
    std::optional<AuditEvent> authenticated_;
    /// Under the null string, the claim made in the lookup's pool job.
    std::optional<ClaimOutcome> early_claim_;
    /// The certificate the phone authenticated with (empty otherwise): a
    /// fetch must return this one.
    std::vector<std::uint8_t> authenticated_der_;
    /// What the phone's SUDI amounted to (CertificateVerdict::sudi_evidence).
    std::string sudi_evidence_;
    bool failure_recorded_ = false;
    /// The phone named a device that exists. Until then every event is about
    /// an unidentified peer, audited at a rate limited per source address.
    bool identified_ = false;
    /// The phone proved itself under the device's auth mode. Until then its
    /// session's end is audited at a rate limited per source and device.
    bool authenticated_phone_ = false;
};

}  // namespace capf
