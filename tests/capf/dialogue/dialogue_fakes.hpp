// In-memory stand-ins for the dialogue's ports: a scripted phone, a device
// store and an authority, each recording what the dialogue did with it.
#pragma once

#include <asio/steady_timer.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>
#include <deque>
#include <functional>
#include <map>
#include <set>

#include "capf/dialogue/ports.hpp"

namespace capf::test {

/// A phone that answers each server message with the messages `react`
/// returns. When it has nothing to say, receive() waits until the deadline
/// and times out, like a silent phone.
class ScriptedPhone : public MessageChannel {
  public:
    using Reaction = std::function<std::vector<protocol::Message>(const protocol::Message& sent)>;
    explicit ScriptedPhone(Reaction react) : react_(std::move(react)) {}

    asio::awaitable<void> send(const protocol::Message& message) override {
        if (hung_up) {
            ++sends_after_hang_up;
            throw PeerClosed("scripted phone hung up");
        }
        sent.push_back(message);
        if (hang_up_on && message.command() == *hang_up_on) {
            hung_up = true;  // it got this message, then went away
            co_return;
        }
        for (auto& reply : react_(message)) {
            inbox_.push_back(std::move(reply));
        }
        co_return;
    }

    asio::awaitable<protocol::Message> receive(Deadline deadline) override {
        if (hung_up) {
            throw PeerClosed("scripted phone hung up");
        }
        if (inbox_.empty()) {
            asio::steady_timer timer(co_await asio::this_coro::executor, deadline);
            co_await timer.async_wait(asio::use_awaitable);
            throw TimedOut("scripted phone said nothing");
        }
        protocol::Message m = std::move(inbox_.front());
        inbox_.pop_front();
        if (hang_up_after && m.command() == *hang_up_after)
            hung_up = true;  // it said this, then went away before the answer
        if (expected_ && m.session_id() != *expected_) {
            protocol::Error e;
            e.code = protocol::Errc::session_id_mismatch;
            throw protocol::ProtocolError(e);
        }
        co_return m;
    }

    void expect_session_id(std::uint32_t id) override { expected_ = id; }

    std::vector<protocol::Message> sent;
    /// The phone vanishes (a TLS alert, a reset) once it was sent this.
    std::optional<protocol::Command> hang_up_on;
    /// The phone vanishes right after the server has read this from it.
    std::optional<protocol::Command> hang_up_after;
    bool hung_up = false;
    std::size_t sends_after_hang_up = 0;

    std::size_t count_sent(protocol::Command c) const {
        std::size_t n = 0;
        for (const auto& m : sent)
            n += m.command() == c ? 1u : 0u;
        return n;
    }

  private:
    Reaction react_;
    std::deque<protocol::Message> inbox_;
    std::optional<std::uint32_t> expected_;
};

/// Called from the dialogue's pool one call at a time; read by the test
/// after the dialogue has finished.
class FakeDeviceStore : public DeviceStore {
  public:
    std::map<std::string, DeviceForSession> devices;
    std::map<std::string, std::string> auth_strings;
    std::set<std::string> locked_out;
    bool unavailable = false;
    bool claim_refused = false;
    std::map<std::string, CertificateStanding> standings;  ///< by serial; absent: current
    bool confirm_completes_install = false;
    std::function<void(DeviceForSession&)> change_before_claim;
    std::vector<ClaimExpectation> expectations;
    std::vector<AuditEvent> unauthenticated_audits;  ///< rate limited: no proof yet
    int lookups = 0;                                 ///< find_device calls
    std::vector<std::string> calls;                  // "issued SEP..", "confirmed SEP..", ...
    std::vector<AuditEvent> audits;
    std::vector<std::string> failures;
    std::vector<std::string> actors;  // the peer passed with each record_* call

    std::optional<DeviceForSession> find_device(const std::string& name) override {
        ++lookups;
        if (unavailable)
            throw StoreUnavailable("database unreachable (fake)");
        auto it = devices.find(name);
        if (it == devices.end())
            return std::nullopt;
        return it->second;
    }
    AuthStringVerdict check_auth_string(const std::string& device, const std::string& s) override {
        if (locked_out.count(device))
            return {AuthStringCheck::locked_out, {}};
        auto it = auth_strings.find(device);
        if (it == auth_strings.end())
            return {AuthStringCheck::none_set, {}};
        if (it->second != s)
            return {AuthStringCheck::mismatch, {}};
        return {AuthStringCheck::accepted, "hash-of-" + s};  // used up on success only
    }
    ClaimOutcome claim_operation(const std::string& device, const std::string& node,
                                 const ClaimExpectation& expected) override {
        calls.push_back("claim " + device);
        expectations.push_back(expected);
        if (expected.audit)  // the real store writes it in the claim's statement
            audits.push_back(*expected.audit);
        if (claim_refused)
            return {ClaimOutcome::Status::held_elsewhere, std::nullopt, {}};
        auto& d = devices.at(device);
        if (change_before_claim)
            change_before_claim(d);  // an administrator acted after authentication
        if (d.auth_mode != expected.auth_mode || d.operation != expected.operation)
            return {ClaimOutcome::Status::operation_changed, std::nullopt, "changed (fake)"};
        OperationClaim claim;
        claim.device = device;
        claim.operation = d.operation;
        claim.auth_mode = d.auth_mode;
        claim.key_spec = d.key_spec.text();
        claim.node = node;
        claim.auth_string_hash = expected.auth_string_hash;
        return {ClaimOutcome::Status::claimed, claim, {}};
    }
    CertificateStanding certificate_standing(const std::string&,
                                             const std::string& serial) override {
        calls.push_back("standing " + serial);
        const auto it = standings.find(serial);
        return it == standings.end() ? CertificateStanding::current : it->second;
    }
    PresentedConfirmation confirm_presented(const std::string& device, const std::string& serial,
                                            const std::vector<std::uint8_t>&,
                                            const std::string& peer) override {
        calls.push_back("confirm-presented " + device + " " + serial);
        actors.push_back(peer);
        standings[serial] = CertificateStanding::current;
        return {true, confirm_completes_install};
    }
    void record_store_refused(const OperationClaim& c, const std::string& serial,
                              const std::string& reason, const std::string& peer) override {
        calls.push_back("store-refused " + c.device + " " + serial);
        failures.push_back(reason);
        actors.push_back(peer);
    }
    void audit_unauthenticated(const AuditEvent& e) override {
        unauthenticated_audits.push_back(e);
    }
    void record_issued(const OperationClaim& c, const IssuedCertificateRecord& cert,
                       const std::string& peer) override {
        calls.push_back("issued " + c.device + " " + cert.serial_hex);
        actors.push_back(peer);
    }
    void record_store_confirmed(const OperationClaim& c, const IssuedCertificateRecord& cert,
                                const std::string& peer) override {
        calls.push_back("confirmed " + c.device + " " + cert.serial_hex);
        actors.push_back(peer);
        use_up_auth_string(c);
    }
    void record_fetched(const OperationClaim& c, const std::vector<std::uint8_t>&,
                        const std::string& md5, const std::vector<std::uint8_t>&,
                        const std::string& peer) override {
        calls.push_back("fetched " + c.device + " " + md5);
        actors.push_back(peer);
        use_up_auth_string(c);
    }
    void record_deleted(const OperationClaim& c, const std::string& peer) override {
        calls.push_back("deleted " + c.device);
        actors.push_back(peer);
        use_up_auth_string(c);
    }
    void record_failure(const OperationClaim& c, const std::string& reason,
                        const std::string& peer) override {
        calls.push_back("failed " + c.device);
        failures.push_back(reason);
        actors.push_back(peer);
    }
    void audit(const AuditEvent& e) override { audits.push_back(e); }

  private:
    /// A success uses up the string the claim was made with, if still set.
    void use_up_auth_string(const OperationClaim& c) {
        auto it = auth_strings.find(c.device);
        if (c.auth_string_hash && it != auth_strings.end() &&
            *c.auth_string_hash == "hash-of-" + it->second)
            auth_strings.erase(it);
    }
};

class FakeAuthority : public Authority {
  public:
    VerificationFailure verification_result;  // nothing: verified
    std::string verified_serial = "cafe01";
    std::string sudi_evidence;           // what the verdict says of the SUDI
    VerificationFailure fetched_result;  // nothing: the fetched certificate belongs
    std::vector<PresentedCertificate> verified;
    int issued = 0;

    CertificateVerdict verify_presented(const std::string&, const PresentedCertificate& p,
                                        std::uint32_t) override {
        verified.push_back(p);
        CertificateVerdict verdict;
        if (verification_result)  // not a copy of the optional: GCC 12 warns falsely on that
            verdict.failure = *verification_result;
        verdict.serial_hex = verified_serial;
        verdict.public_key_der = {9, 9};
        verdict.sudi_evidence = sudi_evidence;
        return verdict;
    }
    VerificationFailure check_fetched(const std::string&,
                                      const std::vector<std::uint8_t>&) override {
        return fetched_result;
    }
    IssuedCertificateRecord issue_lsc(const std::string& device,
                                      const std::vector<std::uint8_t>& key,
                                      const ca::KeySpec& spec) override {
        if (key == std::vector<std::uint8_t>{'b', 'a', 'd'}) {
            throw KeyRejected("expected " + spec.text() + ", got garbage");
        }
        ++issued;
        IssuedCertificateRecord c;
        c.der = {0x30, 0x03, 0x02, 0x01, static_cast<std::uint8_t>(issued)};
        c.serial_hex = "serial" + std::to_string(issued);
        c.public_key_der = key;
        c.md5_hex = std::string(32, 'a');
        (void)device;
        return c;
    }
    std::optional<std::pair<std::string, std::vector<std::uint8_t>>> describe_certificate(
        const std::vector<std::uint8_t>& der) override {
        if (der.empty())
            return std::nullopt;
        return std::make_pair(std::string(32, 'f'), std::vector<std::uint8_t>{1, 2, 3});
    }
};

}  // namespace capf::test
