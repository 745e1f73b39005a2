#include "capf/dialogue/dialogue.hpp"

#include "capf/common/log.hpp"
#include "storage/device_name.hpp"

namespace capf {

using protocol::Command;
using protocol::Message;
using protocol::Reason;
using protocol::Tag;

/// Ends the dialogue early: END_SESSION with `reason`, then the outcome.
struct Dialogue::Ended {
    Reason reason;
    SessionResult result;
    SessionCause cause;
    std::string detail;
};

namespace {

Deadline after(std::chrono::milliseconds d) {
    return deadline_after(d);
}

Dialogue::Ended refused(SessionCause cause, std::string detail = {}) {
    return {Reason::invalid_element, SessionResult::refused, cause, std::move(detail)};
}

Dialogue::Ended failed(SessionCause cause, std::string detail = {}) {
    return {Reason::invalid_element, SessionResult::failed, cause, std::move(detail)};
}

Dialogue::Ended no_action(SessionCause cause) {
    return {Reason::no_action, SessionResult::no_action, cause, {}};
}

/// How an ended session reads in the audit and the device's operation reason.
std::string cause_text(const Dialogue::Ended& e) {
    SessionOutcome o;
    o.cause = e.cause;
    o.detail = e.detail;
    return o.cause_text();
}

/// "10.1.2.3" of "10.1.2.3:51515" (and "::1" of "::1:51515"): the source
/// that unidentified events are counted by, whatever port it comes from.
std::string source_address(const std::string& peer) {
    const auto colon = peer.rfind(':');
    return colon == std::string::npos ? peer : peer.substr(0, colon);
}

/// What a peer sent as its name, fit for a log line when it is not a valid
/// name: at most `max_name_excerpt` bytes. The codec admits only printable
/// ASCII in a DEVICE_NAME, and the log escapes quotes, so truncating is all
/// that is left to do.
constexpr std::size_t max_name_excerpt = 64;
std::string name_excerpt(const std::string& sent) {
    if (sent.size() <= max_name_excerpt)
        return sent;
    return sent.substr(0, max_name_excerpt) + "...(" + std::to_string(sent.size()) + " bytes)";
}

Message key_gen_request(std::uint32_t session_id, const ca::KeySpec& spec) {
    Message m(Command::key_gen_request, session_id);
    if (spec.algorithm == ca::KeySpec::Algorithm::rsa) {
        m.add<Tag::key_type>(protocol::KeyType::rsa)
            .add<Tag::key_size>(static_cast<std::uint16_t>(spec.bits));
    } else {
        const auto curve = spec.bits == 256   ? protocol::Curve::p256
                           : spec.bits == 384 ? protocol::Curve::p384
                                              : protocol::Curve::p521;
        m.add<Tag::key_type>(protocol::KeyType::ec).add<Tag::curve>(curve);
    }
    return m;
}

std::string reason_text(std::optional<Reason> r) {
    return "reason " + (r ? std::to_string(static_cast<int>(*r)) : std::string("none"));
}

Dialogue::Ended unexpected(Command got, Command expected) {
    return refused(SessionCause::unexpected_message,
                   std::string(protocol::command_name(got)) + " instead of " +
                       std::string(protocol::command_name(expected)));
}

/// CERTIFICATE elements after the first: the intermediates a phone may send
/// between its certificate and an anchor (protocol/README.md, section 5.2).
std::vector<std::vector<std::uint8_t>> further_certificates(const Message& response) {
    std::vector<std::vector<std::uint8_t>> out;
    const auto all = response.find_all<Tag::certificate>();
    for (std::size_t i = 1; i < all.size(); ++i)
        out.push_back(all[i].der);
    return out;
}

/// The outcome of an exception that ended the conversation.
Dialogue::Ended ended_by(std::exception_ptr error, std::string& failure) {
    try {
        std::rethrow_exception(error);
    } catch (const Dialogue::Ended& e) {
        return e;
    } catch (const protocol::ProtocolError& e) {
        failure = e.what();
        // Bad bytes from the phone (unknown tag, wrong session id, ...): reason 7.
        return refused(SessionCause::invalid_message, std::string(protocol::errc_name(e.code())));
    } catch (const TimedOut& e) {
        failure = e.what();
        return failed(SessionCause::timeout);
    } catch (const PeerClosed& e) {
        failure = e.what();
        return failed(SessionCause::phone_closed_connection);
    } catch (const StoreUnavailable& e) {
        failure = e.what();
        return failed(SessionCause::database_unavailable);
    } catch (const OperationChanged& e) {
        // Never finish under another mode than the one that was checked.
        return refused(SessionCause::operation_changed, e.what());
    } catch (const PoolBusy& e) {
        failure = e.what();
        // Nothing was started; the phone comes back on its own schedule.
        return {Reason::no_action, SessionResult::no_action, SessionCause::server_busy, {}};
    } catch (const std::exception& e) {
        failure = e.what();
        return failed(SessionCause::internal_error);
    }
}

}  // namespace

Dialogue::Dialogue(DialogueSettings settings, DeviceStore& store, Authority& authority,
                   BlockingPool& pool, std::string peer)
    : settings_(std::move(settings)),
      store_(store),
      authority_(authority),
      pool_(pool),
      peer_(std::move(peer)) {}

void Dialogue::audit_best_effort(const AuditEvent& event) {
    try {
        store_.audit(event);
    } catch (const std::exception& e) {
        log::warn("audit_failed", {{"device", outcome_.device}, {"error", e.what()}});
    }
}

void Dialogue::succeed(SessionCause cause, std::string detail) {
    outcome_.result = SessionResult::succeeded;
    outcome_.cause = cause;
    outcome_.detail = std::move(detail);
}

asio::awaitable<SessionOutcome> Dialogue::run(MessageChannel& channel, std::uint32_t session_id) {
    std::exception_ptr error;
    try {
        co_await converse(channel, session_id);
    } catch (...) {
        error = std::current_exception();
    }
    std::optional<Ended> ended;
    if (error && outcome_.result == SessionResult::succeeded) {
        // The operation succeeded and its outcome is recorded; only the
        // END_SESSION that says so did not reach the phone (it hung up, or
        // the write timed out). The success stands: nothing more is
        // recorded and nothing more is sent.
        std::string failure;
        const Ended lost = ended_by(error, failure);
        log::info("end_session_not_delivered",
                  {{"device", outcome_.device}, {"cause", cause_text(lost)}, {"detail", failure}});
    } else if (error) {
        std::string failure;
        ended = ended_by(error, failure);
        outcome_.result = ended->result;
        outcome_.cause = ended->cause;
        outcome_.detail = ended->detail;
        if (!failure.empty()) {
            log::debug("session_failure_detail",
                       {{"device", outcome_.device}, {"detail", failure}});
        }
    }
    co_await record_end();
    // A phone that hung up hears nothing more: no END_SESSION to a dead session.
    if (ended && outcome_.cause != SessionCause::phone_closed_connection) {
        try {
            co_await end_session(channel, session_id, ended->reason);
        } catch (const std::exception&) {
            // It went away while we were writing; the outcome stands.
        }
    }
    co_return outcome_;
}

asio::awaitable<void> Dialogue::record_end() {
    if (!claim_ && early_claim_ && early_claim_->claim) {
        // Claimed with the lookup, and the session ended before it got to
        // use the claim: it is this session's, to record and release.
        claim_ = std::move(early_claim_->claim);
    }
    const std::string cause = outcome_.cause_text();
    const bool ok =
        outcome_.result == SessionResult::succeeded || outcome_.result == SessionResult::no_action;
    if (claim_ && !ok && !failure_recorded_) {
        auto record = [this, &cause] { store_.record_failure(*claim_, cause, peer_); };
        try {
            co_await pool_.run(record);
        } catch (const std::exception& e) {
            log::warn("record_failure_failed", {{"device", outcome_.device}, {"error", e.what()}});
        }
    }
    if (claim_) {
        store_.release_claim(*claim_);
    }
    if (outcome_.result != SessionResult::succeeded) {
        auto audit = [this, &cause] { audit_session_end(cause); };
        co_await pool_.run(audit);
    }
}

void Dialogue::audit_session_end(const std::string& cause) {
    const std::string result(session_result_name(outcome_.result));
    if (authenticated_phone_) {
        audit_best_effort(
            AuditEvent{outcome_.device, peer_, settings_.node, "session", result, cause, {}});
        return;
    }
    // Anyone can open a session and name a device: until it has proved
    // itself, one counter row per source, device and minute, so a peer
    // cannot fill the table. No name when it named no known device (the
    // name is then whatever it chose).
    const std::string device = identified_ ? outcome_.device : std::string();
    try {
        store_.audit_unauthenticated(AuditEvent{
            device, source_address(peer_), settings_.node, "session", result, cause, {}});
    } catch (const std::exception& e) {
        log::warn("audit_failed", {{"device", outcome_.device}, {"error", e.what()}});
    }
}

asio::awaitable<void> Dialogue::end_session(MessageChannel& channel, std::uint32_t session_id,
                                            Reason reason) {
    Message end(Command::end_session, session_id);
    end.add<Tag::reason>(reason);
    outcome_.end_reason = reason;
    co_await channel.send(end);
}

asio::awaitable<Message> Dialogue::receive(MessageChannel& channel, Command expected,
                                           Deadline deadline) {
    Message m = co_await channel.receive(deadline);
    if (m.command() != expected) {
        throw unexpected(m.command(), expected);
    }
    co_return m;
}

asio::awaitable<Message> Dialogue::exchange(MessageChannel& channel, const Message& request,
                                            Command expected) {
    co_await channel.send(request);
    co_return co_await receive(channel, expected, after(settings_.read_timeout));
}

asio::awaitable<void> Dialogue::converse(MessageChannel& channel, std::uint32_t session_id) {
    // Section 5.1: the server speaks first and cannot yet know who is calling.
    channel.expect_session_id(session_id);
    Message hello(Command::auth_request, session_id);
    hello.add<Tag::version>(protocol::protocol_version)
        .add<Tag::auth_type>(protocol::AuthType::none);
    co_await channel.send(hello);

    const Message response =
        co_await receive(channel, Command::auth_response, after(settings_.auth_timeout));
    const DeviceForSession device = co_await identify(response);
    if (co_await authenticate(device, response, session_id)) {
        co_await end_session(channel, session_id, Reason::success);
        co_return;
    }
    co_await claim(device);
    outcome_.operation = claim_->operation;
    switch (claim_->operation) {
        case Operation::install:
            co_await install(channel, session_id);
            break;
        case Operation::fetch:
            co_await fetch(channel, session_id);
            break;
        case Operation::remove:
            co_await remove(channel, session_id);
            break;
        case Operation::none:
            throw no_action(SessionCause::no_pending_operation);
    }
}

asio::awaitable<void> Dialogue::claim(const DeviceForSession& device) {
    ClaimOutcome claimed;
    if (early_claim_) {
        claimed = std::move(*early_claim_);  // made with the lookup (null string)
    } else {
        const ClaimExpectation expected{device.operation, device.auth_mode,
                                        matched_auth_string_hash_, authenticated_};
        auto claim = [this, &device, &expected] {
            return store_.claim_operation(device.name, settings_.node, expected);
        };
        claimed = co_await pool_.run(claim);
    }
    switch (claimed.status) {
        case ClaimOutcome::Status::claimed:
            claim_ = std::move(claimed.claim);
            co_return;
        case ClaimOutcome::Status::nothing_pending:
            throw no_action(SessionCause::no_pending_operation);
        case ClaimOutcome::Status::held_elsewhere:
            throw no_action(SessionCause::operation_claimed_elsewhere);
        case ClaimOutcome::Status::operation_changed:
            // Never run under another mode than the one that was checked.
            throw refused(SessionCause::operation_changed, claimed.detail);
    }
}

asio::awaitable<DeviceForSession> Dialogue::identify(const Message& response) {
    const auto claimed_name = response.find<Tag::device_name>();
    outcome_.device = name_excerpt(claimed_name.value_or(""));
    if (!claimed_name) {
        throw refused(SessionCause::missing_device_name);
    }
    const auto name = storage::canonical_device_name(*claimed_name);
    if (!name) {
        throw Ended{
            Reason::unknown_device, SessionResult::refused, SessionCause::invalid_device_name, {}};
    }
    outcome_.device = *name;

    const auto version = response.find<Tag::version>();
    // The session's first blocking call: a full queue refuses it here,
    // before it has started anything. Under the null string nothing is left
    // to check once the device is found, so the claim goes with the lookup:
    // one trip to the pool instead of two.
    auto find = [this, &name, &version] {
        if (version != protocol::protocol_version)
            return store_.find_device(*name);
        auto found = store_.find_and_claim_null_string(
            *name, settings_.node, accepted_audit(*name, AuthMode::null_string));
        early_claim_ = std::move(found.claim);
        return found.device;
    };
    const auto device = co_await pool_.admit(find);
    if (!device) {
        throw Ended{
            Reason::unknown_device, SessionResult::refused, SessionCause::unknown_device, {}};
    }
    identified_ = true;
    // After the lookup, as section 5.1 orders it: a known device speaking
    // another version is audited under its name.
    if (version != protocol::protocol_version) {
        throw refused(SessionCause::wrong_version,
                      version ? std::to_string(*version) : std::string("none"));
    }
    outcome_.operation = device->operation;
    if (device->operation == Operation::none) {
        throw no_action(SessionCause::no_pending_operation);
    }
    if (device->deadline_passed) {
        throw no_action(SessionCause::operation_deadline_passed);
    }
    co_return *device;
}

asio::awaitable<bool> Dialogue::authenticate(const DeviceForSession& device,
                                             const Message& response, std::uint32_t session_id) {
    bool finished = false;
    switch (device.auth_mode) {
        case AuthMode::null_string:
            break;
        case AuthMode::auth_string:
            co_await check_auth_string(device, response);
            break;
        case AuthMode::lsc:
        case AuthMode::mic:
        case AuthMode::lsc_or_mic:
            finished = co_await verify_certificate(device, response, session_id);
            break;
    }
    authenticated_phone_ = true;
    AuditEvent accepted = accepted_audit(device.name, device.auth_mode);
    if (!sudi_evidence_.empty())
        accepted.detail += ", " + sudi_evidence_;
    if (!finished) {
        authenticated_ = accepted;  // audited by the claim's own statement
        co_return false;
    }
    auto audit = [this, &accepted] { audit_best_effort(accepted); };
    co_await pool_.run(audit);
    co_return true;
}

AuditEvent Dialogue::accepted_audit(const std::string& device, AuthMode mode) const {
    return AuditEvent{device,
                      peer_,
                      settings_.node,
                      "authentication",
                      "accepted",
                      std::string(storage::to_text(mode)),
                      {}};
}

asio::awaitable<void> Dialogue::check_auth_string(const DeviceForSession& device,
                                                  const Message& response) {
    const auto password = response.find<Tag::password>();
    if (!password || password->empty()) {
        throw refused(SessionCause::auth_string_missing);
    }
    auto check = [this, &device, &password] {
        return store_.check_auth_string(device.name, *password);
    };
    const AuthStringVerdict verdict = co_await pool_.run(check);
    switch (verdict.check) {
        case AuthStringCheck::accepted:
            matched_auth_string_hash_ = verdict.matched_hash;
            co_return;
        case AuthStringCheck::mismatch:
            throw refused(SessionCause::auth_string_mismatch);
        case AuthStringCheck::none_set:
            throw refused(SessionCause::auth_string_not_set);
        case AuthStringCheck::locked_out:
            throw refused(SessionCause::auth_string_locked_out);
    }
}

asio::awaitable<bool> Dialogue::verify_certificate(const DeviceForSession& device,
                                                   const Message& response,
                                                   std::uint32_t session_id) {
    const auto cert = response.find<Tag::certificate>();
    const auto sha1 = response.find<Tag::signed_data>();
    const auto sha2 = response.find<Tag::sha2_signed_data>();
    if (!cert)
        throw refused(SessionCause::certificate_missing);
    if (!sha1 || !sha2)
        throw refused(SessionCause::signed_data_missing);
    const bool is_mic = cert->type == protocol::CertType::mic;
    if (device.auth_mode == AuthMode::lsc && is_mic)
        throw refused(SessionCause::lsc_required);
    if (device.auth_mode == AuthMode::mic && !is_mic)
        throw refused(SessionCause::mic_required);
    PresentedCertificate presented;
    presented.role = is_mic ? CertificateRole::mic : CertificateRole::lsc;
    presented.der = cert->der;
    presented.signed_data = *sha1;
    presented.sha2_hash_id = static_cast<std::uint8_t>(sha2->hash);
    presented.sha2_signed_data = sha2->signature;
    presented.sudi = response.find<Tag::sudi_data>();
    presented.intermediates = further_certificates(response);
    presented.require_sudi = device.require_sudi;
    auto verify = [this, &device, &presented, session_id] {
        return authority_.verify_presented(device.name, presented, session_id);
    };
    const CertificateVerdict verdict = co_await pool_.run(verify);
    if (verdict.failure) {
        throw refused(SessionCause::certificate_refused, *verdict.failure);
    }
    authenticated_der_ = cert->der;
    sudi_evidence_ = verdict.sudi_evidence;
    if (is_mic)
        co_return false;
    co_return co_await check_lsc_standing(device, verdict);
}

asio::awaitable<bool> Dialogue::check_lsc_standing(const DeviceForSession& device,
                                                   const CertificateVerdict& verdict) {
    auto standing_of = [this, &device, &verdict] {
        return store_.certificate_standing(device.name, verdict.serial_hex);
    };
    CertificateStanding standing = co_await pool_.run(standing_of);
    if (standing == CertificateStanding::unknown_outcome) {
        // Its session ended after it was sent (a crash, an outage): the
        // valid proof shows the phone holds it.
        auto confirm = [this, &device, &verdict] {
            return store_.confirm_presented(device.name, verdict.serial_hex, verdict.public_key_der,
                                            peer_);
        };
        const PresentedConfirmation confirmed = co_await pool_.run(confirm);
        if (confirmed.confirmed) {
            log::info("lsc_confirmed", {{"device", device.name}, {"serial", verdict.serial_hex}});
            if (confirmed.completed_install) {
                outcome_.operation = Operation::install;
                succeed(SessionCause::lsc_confirmed, "serial=" + verdict.serial_hex);
                co_return true;
            }
            co_return false;
        }
        standing = co_await pool_.run(standing_of);  // another session confirmed it first
    }
    if (standing != CertificateStanding::current) {
        throw refused(SessionCause::lsc_not_current, std::string(storage::to_text(standing)));
    }
    co_return false;
}

asio::awaitable<std::vector<std::uint8_t>> Dialogue::request_public_key(MessageChannel& channel,
                                                                        std::uint32_t session_id,
                                                                        const ca::KeySpec& spec) {
    Ended last = failed(SessionCause::keygen_failed);
    // Section 5.4: one request plus up to `retries` more after a failure or timeout.
    const unsigned attempts = settings_.keygen_retries + 1;
    for (unsigned attempt = 1; attempt <= attempts; ++attempt) {
        co_await channel.send(key_gen_request(session_id, spec));
        const Deadline deadline = after(settings_.keygen_timeout);
        std::optional<Message> reply;
        try {
            do {
                reply = co_await channel.receive(deadline);
            } while (reply->command() == Command::request_in_progress);  // the deadline stands
        } catch (const TimedOut&) {
            reply.reset();
        }
        if (!reply) {
            last = failed(SessionCause::keygen_timeout);
            log::info("keygen_timeout", {{"device", claim_->device}, {"attempt", attempt}});
            continue;
        }
        if (reply->command() != Command::key_gen_response) {
            throw unexpected(reply->command(), Command::key_gen_response);
        }
        if (auto key = reply->find<Tag::public_key>()) {
            co_return std::move(*key);
        }
        const std::string reason = reason_text(reply->find<Tag::reason>());
        last = failed(SessionCause::keygen_failed, reason);
        log::info("keygen_failed",
                  {{"device", claim_->device}, {"attempt", attempt}, {"reason", reason}});
    }
    last.detail += (last.detail.empty() ? "" : " ");
    last.detail += "after " + std::to_string(attempts) + " attempts";
    throw last;
}

asio::awaitable<void> Dialogue::install(MessageChannel& channel, std::uint32_t session_id) {
    const auto spec = ca::parse_key_spec(claim_->key_spec).value_or(ca::KeySpec{});
    const std::vector<std::uint8_t> public_key =
        co_await request_public_key(channel, session_id, spec);

    std::optional<IssuedCertificateRecord> issued;
    std::string rejected;
    // Recorded before it is sent: a certificate never exists only on a
    // phone. Issued and recorded in one pool job: one trip to the pool.
    auto issue_and_record = [this, &public_key, &spec, &issued, &rejected] {
        try {
            issued = authority_.issue_lsc(claim_->device, public_key, spec);
        } catch (const KeyRejected& e) {
            rejected = e.what();
            return;
        }
        store_.record_issued(*claim_, *issued, peer_);
    };
    co_await pool_.run(issue_and_record);
    if (!issued) {
        throw failed(SessionCause::key_rejected, rejected);
    }

    Message store(Command::store_cert_request, session_id);
    store.add<Tag::cert_type>(protocol::CertType::lsc)
        .add<Tag::certificate>(protocol::CertificateValue{protocol::CertType::lsc, issued->der});
    const Message stored = co_await exchange(channel, store, Command::store_cert_response);
    if (stored.find<Tag::reason>() != Reason::success) {
        const Ended refusal =
            failed(SessionCause::store_refused, reason_text(stored.find<Tag::reason>()));
        // That certificate can never authenticate; recorded with the failure.
        auto record_refusal = [this, &issued, &refusal] {
            store_.record_store_refused(*claim_, issued->serial_hex, cause_text(refusal), peer_);
        };
        co_await pool_.run(record_refusal);
        failure_recorded_ = true;
        throw refusal;
    }
    auto confirm = [this, &issued] { store_.record_store_confirmed(*claim_, *issued, peer_); };
    co_await pool_.run(confirm);
    succeed(SessionCause::lsc_installed, "serial=" + issued->serial_hex);
    co_await end_session(channel, session_id, Reason::success);
}

asio::awaitable<void> Dialogue::fetch(MessageChannel& channel, std::uint32_t session_id) {
    const Message reply = co_await exchange(
        channel, Message(Command::fetch_cert_request, session_id), Command::fetch_cert_response);
    const auto cert = reply.find<Tag::certificate>();
    if (reply.find<Tag::reason>() != Reason::success || !cert) {
        throw Ended{Reason::no_action, SessionResult::failed, SessionCause::fetch_refused,
                    reason_text(reply.find<Tag::reason>())};
    }
    auto describe = [this, &cert] { return authority_.describe_certificate(cert->der); };
    const auto facts = co_await pool_.run(describe);
    if (!facts) {
        throw Ended{Reason::no_action,
                    SessionResult::failed,
                    SessionCause::fetched_certificate_malformed,
                    {}};
    }
    co_await check_fetched(cert->der);
    auto record = [this, &cert, &facts] {
        store_.record_fetched(*claim_, cert->der, facts->first, facts->second, peer_);
    };
    co_await pool_.run(record);
    succeed(SessionCause::certificate_fetched, "md5=" + facts->first);
    co_await end_session(channel, session_id, Reason::no_action);
}

asio::awaitable<void> Dialogue::check_fetched(const std::vector<std::uint8_t>& der) {
    // With certificate authentication the phone has shown which certificate
    // it holds: anything else it returns is not its own.
    if (!authenticated_der_.empty() && der != authenticated_der_) {
        throw refused(SessionCause::fetched_certificate_refused,
                      "not_the_authenticated_certificate");
    }
    auto check = [this, &der] { return authority_.check_fetched(claim_->device, der); };
    if (const auto failure = co_await pool_.run(check)) {
        throw refused(SessionCause::fetched_certificate_refused, *failure);
    }
}

asio::awaitable<void> Dialogue::remove(MessageChannel& channel, std::uint32_t session_id) {
    const Message reply = co_await exchange(
        channel, Message(Command::delete_cert_request, session_id), Command::delete_cert_response);
    if (reply.find<Tag::reason>() != Reason::success) {
        throw failed(SessionCause::delete_refused, reason_text(reply.find<Tag::reason>()));
    }
    auto record = [this] { store_.record_deleted(*claim_, peer_); };
    co_await pool_.run(record);
    succeed(SessionCause::certificate_deleted);
    co_await end_session(channel, session_id, Reason::success);
}

}  // namespace capf
