#include "capf/dialogue.hpp"

#include "capf/log.hpp"
#include "storage/device_name.hpp"

namespace capf {

using protocol::Command;
using protocol::Message;
using protocol::Reason;
using protocol::Tag;

/// Ends the dialogue early: END_SESSION with `reason`, then the outcome.
struct Dialogue::Ended {
    Reason reason;
    std::string outcome;
    std::string cause;
};

namespace {

Deadline after(std::chrono::milliseconds d) {
    return std::chrono::steady_clock::now() + d;
}

Message key_gen_request(std::uint32_t session_id, const KeySpec& spec) {
    Message m(Command::key_gen_request, session_id);
    if (spec.type == KeySpec::Type::rsa) {
        m.add<Tag::key_type>(protocol::KeyType::rsa)
            .add<Tag::key_size>(static_cast<std::uint16_t>(spec.rsa_bits));
    } else {
        const auto curve = spec.ec_bits == 256   ? protocol::Curve::p256
                           : spec.ec_bits == 384 ? protocol::Curve::p384
                                                 : protocol::Curve::p521;
        m.add<Tag::key_type>(protocol::KeyType::ec).add<Tag::curve>(curve);
    }
    return m;
}

std::string reason_text(std::optional<Reason> r) {
    return r ? std::to_string(static_cast<int>(*r)) : std::string("none");
}

}  // namespace

std::string_view operation_name(Operation op) noexcept {
    switch (op) {
        case Operation::none:
            return "none";
        case Operation::install:
            return "install";
        case Operation::fetch:
            return "fetch";
        case Operation::remove:
            return "delete";
    }
    return "none";
}

std::string_view auth_mode_name(AuthMode mode) noexcept {
    switch (mode) {
        case AuthMode::null_string:
            return "null-string";
        case AuthMode::auth_string:
            return "auth-string";
        case AuthMode::lsc:
            return "lsc";
        case AuthMode::mic:
            return "mic";
        case AuthMode::lsc_or_mic:
            return "lsc-or-mic";
    }
    return "null-string";
}

Dialogue::Dialogue(DialogueSettings settings, DeviceStore& store, Authority& authority,
                   BlockingPool& pool, std::string peer)
    : settings_(std::move(settings)),
      store_(store),
      authority_(authority),
      pool_(pool),
      peer_(std::move(peer)) {}

void Dialogue::audit_best_effort(const std::string& event, const std::string& outcome,
                                 const std::string& detail) {
    try {
        store_.audit(AuditEvent{outcome_.device, peer_, event, outcome, detail});
    } catch (const std::exception& e) {
        log::warn("audit_failed", {{"device", outcome_.device}, {"error", e.what()}});
    }
}

asio::awaitable<SessionOutcome> Dialogue::run(MessageChannel& channel, std::uint32_t session_id) {
    std::optional<Ended> ended;
    std::string failure;
    bool peer_gone = false;
    try {
        co_await converse(channel, session_id);
    } catch (const Ended& e) {
        ended = e;
    } catch (const protocol::ProtocolError& e) {
        // Bad bytes from the phone (unknown tag, wrong session id, ...): reason 7.
        ended = Ended{Reason::invalid_element, "refused",
                      "invalid_message: " + std::string(protocol::errc_name(e.code()))};
        failure = e.what();
    } catch (const TimedOut& e) {
        ended = Ended{Reason::invalid_element, "failed", "timeout"};
        failure = e.what();
    } catch (const PeerClosed& e) {
        outcome_.outcome = "failed";
        outcome_.cause = "phone_closed_connection";
        peer_gone = true;
        failure = e.what();
    } catch (const StoreUnavailable& e) {
        ended = Ended{Reason::invalid_element, "failed", "database_unavailable"};
        failure = e.what();
    } catch (const std::exception& e) {
        ended = Ended{Reason::invalid_element, "failed", "internal_error"};
        failure = e.what();
        peer_gone = dynamic_cast<const std::system_error*>(&e) != nullptr;
    }

    if (ended) {
        outcome_.outcome = ended->outcome;
        outcome_.cause = ended->cause;
    }
    if (claim_ && outcome_.outcome != "succeeded" && outcome_.outcome != "no_action") {
        auto record = [this] { store_.record_failure(*claim_, outcome_.cause); };
        try {
            co_await pool_.run(record);
        } catch (const std::exception& e) {
            log::warn("record_failure_failed", {{"device", outcome_.device}, {"error", e.what()}});
        }
    }
    if (claim_) {
        store_.release_claim(*claim_);
    }
    if (!failure.empty()) {
        log::debug("session_failure_detail", {{"device", outcome_.device}, {"detail", failure}});
    }
    if (outcome_.outcome != "succeeded") {
        auto audit = [this] { audit_best_effort("session", outcome_.outcome, outcome_.cause); };
        co_await pool_.run(audit);
    }
    if (ended && !peer_gone) {
        try {
            co_await end_session(channel, session_id, ended->reason);
        } catch (const std::exception&) {
            // The phone may be gone already; the outcome stands.
        }
    }
    co_return outcome_;
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
        throw Ended{Reason::invalid_element, "refused",
                    "unexpected_message: " + std::string(protocol::command_name(m.command())) +
                        " instead of " + std::string(protocol::command_name(expected))};
    }
    co_return m;
}

asio::awaitable<void> Dialogue::converse(MessageChannel& channel, std::uint32_t session_id) {
    // 5.1: the server speaks first and cannot yet know who is calling.
    channel.expect_session_id(session_id);
    Message hello(Command::auth_request, session_id);
    hello.add<Tag::version>(protocol::protocol_version)
        .add<Tag::auth_type>(protocol::AuthType::none);
    co_await channel.send(hello);

    const Message response =
        co_await receive(channel, Command::auth_response, after(settings_.read_timeout));
    const auto claimed_name = response.find<Tag::device_name>();
    outcome_.device = claimed_name.value_or("");
    const auto version = response.find<Tag::version>();
    if (version != protocol::protocol_version) {
        throw Ended{Reason::invalid_element, "refused",
                    "wrong_version: " + (version ? std::to_string(*version) : std::string("none"))};
    }
    if (!claimed_name) {
        throw Ended{Reason::invalid_element, "refused", "missing_device_name"};
    }
    const auto name = storage::canonical_device_name(*claimed_name);
    if (!name) {
        throw Ended{Reason::unknown_device, "refused", "invalid_device_name"};
    }
    outcome_.device = *name;

    auto find = [this, &name] { return store_.find_device(*name); };
    const auto device = co_await pool_.run(find);
    if (!device) {
        throw Ended{Reason::unknown_device, "refused", "unknown_device"};
    }
    outcome_.operation = device->operation;
    if (device->operation == Operation::none) {
        throw Ended{Reason::no_action, "no_action", "no_pending_operation"};
    }
    if (device->deadline_passed) {
        throw Ended{Reason::no_action, "no_action", "operation_deadline_passed"};
    }

    co_await authenticate(*device, response, session_id);

    auto claim = [this, &name] { return store_.claim_operation(*name, settings_.node); };
    claim_ = co_await pool_.run(claim);
    if (!claim_) {
        throw Ended{Reason::no_action, "no_action", "operation_claimed_elsewhere"};
    }
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
            throw Ended{Reason::no_action, "no_action", "no_pending_operation"};
    }
}

asio::awaitable<void> Dialogue::authenticate(const DeviceForSession& device,
                                             const Message& response, std::uint32_t session_id) {
    auto refuse = [](std::string cause) {
        return Ended{Reason::invalid_element, "refused", std::move(cause)};
    };
    switch (device.auth_mode) {
        case AuthMode::null_string:
            break;
        case AuthMode::auth_string: {
            const auto password = response.find<Tag::password>();
            if (!password || password->empty()) {
                throw refuse("auth_string_missing");
            }
            auto check = [this, &device, &password] {
                return store_.check_auth_string(device.name, *password);
            };
            switch (co_await pool_.run(check)) {
                case AuthStringCheck::accepted:
                    break;
                case AuthStringCheck::mismatch:
                    throw refuse("auth_string_mismatch");
                case AuthStringCheck::none_set:
                    throw refuse("auth_string_not_set");
                case AuthStringCheck::locked_out:
                    throw refuse("auth_string_locked_out");
            }
            break;
        }
        case AuthMode::lsc:
        case AuthMode::mic:
        case AuthMode::lsc_or_mic: {
            const auto cert = response.find<Tag::certificate>();
            const auto sha1 = response.find<Tag::signed_data>();
            const auto sha2 = response.find<Tag::sha2_signed_data>();
            if (!cert)
                throw refuse("certificate_missing");
            if (!sha1 || !sha2)
                throw refuse("signed_data_missing");
            PresentedCertificate presented;
            const bool is_mic = cert->type == protocol::CertType::mic;
            if (device.auth_mode == AuthMode::lsc && is_mic)
                throw refuse("lsc_required");
            if (device.auth_mode == AuthMode::mic && !is_mic)
                throw refuse("mic_required");
            presented.role = is_mic ? CertificateRole::mic : CertificateRole::lsc;
            presented.der = cert->der;
            presented.signed_data = *sha1;
            presented.sha2_hash_id = static_cast<std::uint8_t>(sha2->hash);
            presented.sha2_signed_data = sha2->signature;
            presented.sudi = response.find<Tag::sudi_data>();
            auto verify = [this, &device, &presented, session_id] {
                return authority_.verify_presented(device.name, presented, session_id);
            };
            if (const auto failure = co_await pool_.run(verify)) {
                throw refuse(*failure);
            }
            break;
        }
    }
    auto audit = [this, &device] {
        audit_best_effort("authentication", "accepted",
                          std::string(auth_mode_name(device.auth_mode)));
    };
    co_await pool_.run(audit);
}

asio::awaitable<void> Dialogue::install(MessageChannel& channel, std::uint32_t session_id) {
    const KeySpec spec = claim_->key_spec;
    std::optional<std::vector<std::uint8_t>> public_key;
    std::string last_problem = "keygen_failed";
    // 5.4: one request plus up to `retries` more after a failure or timeout.
    for (unsigned attempt = 0; attempt <= settings_.keygen_retries && !public_key; ++attempt) {
        co_await channel.send(key_gen_request(session_id, spec));
        const Deadline deadline = after(settings_.keygen_timeout);
        std::optional<Message> reply;
        std::exception_ptr timed_out;
        try {
            for (;;) {
                Message m = co_await channel.receive(deadline);
                if (m.command() == Command::request_in_progress) {
                    continue;  // the phone is working; the deadline stands
                }
                if (m.command() != Command::key_gen_response) {
                    throw Ended{
                        Reason::invalid_element, "refused",
                        "unexpected_message: " + std::string(protocol::command_name(m.command())) +
                            " instead of KEY_GEN_RESPONSE"};
                }
                reply = std::move(m);
                break;
            }
        } catch (const TimedOut&) {
            timed_out = std::current_exception();
        }
        if (timed_out) {
            last_problem = "keygen_timeout";
            log::info("keygen_timeout", {{"device", claim_->device}, {"attempt", attempt + 1}});
            continue;
        }
        public_key = reply->find<Tag::public_key>();
        if (!public_key) {
            last_problem = "keygen_failed: reason " + reason_text(reply->find<Tag::reason>());
            log::info("keygen_failed", {{"device", claim_->device},
                                        {"attempt", attempt + 1},
                                        {"reason", reason_text(reply->find<Tag::reason>())}});
        }
    }
    if (!public_key) {
        throw Ended{
            Reason::invalid_element, "failed",
            last_problem + " after " + std::to_string(settings_.keygen_retries + 1) + " attempts"};
    }

    std::optional<IssuedCertificate> issued;
    std::string rejected;
    auto issue = [this, &public_key, &spec, &issued, &rejected] {
        try {
            issued = authority_.issue_lsc(claim_->device, *public_key, spec);
        } catch (const KeyRejected& e) {
            rejected = e.what();
        }
    };
    co_await pool_.run(issue);
    if (!issued) {
        throw Ended{Reason::invalid_element, "failed", "key_rejected: " + rejected};
    }
    // Recorded before it is sent: a certificate never exists only on a phone.
    auto record = [this, &issued] { store_.record_issued(*claim_, *issued); };
    co_await pool_.run(record);

    Message store(Command::store_cert_request, session_id);
    store.add<Tag::cert_type>(protocol::CertType::lsc)
        .add<Tag::certificate>(protocol::CertificateValue{protocol::CertType::lsc, issued->der});
    co_await channel.send(store);
    const Message stored =
        co_await receive(channel, Command::store_cert_response, after(settings_.read_timeout));
    if (stored.find<Tag::reason>() != Reason::success) {
        throw Ended{Reason::invalid_element, "failed",
                    "store_refused: reason " + reason_text(stored.find<Tag::reason>())};
    }
    auto confirm = [this, &issued] { store_.record_store_confirmed(*claim_, *issued); };
    co_await pool_.run(confirm);
    outcome_.outcome = "succeeded";
    outcome_.cause = "lsc_installed serial=" + issued->serial_hex;
    co_await end_session(channel, session_id, Reason::success);
}

asio::awaitable<void> Dialogue::fetch(MessageChannel& channel, std::uint32_t session_id) {
    co_await channel.send(Message(Command::fetch_cert_request, session_id));
    const Message reply =
        co_await receive(channel, Command::fetch_cert_response, after(settings_.read_timeout));
    const auto cert = reply.find<Tag::certificate>();
    if (reply.find<Tag::reason>() != Reason::success || !cert) {
        throw Ended{Reason::no_action, "failed",
                    "fetch_refused: reason " + reason_text(reply.find<Tag::reason>())};
    }
    auto describe = [this, &cert] { return authority_.describe_certificate(cert->der); };
    const auto facts = co_await pool_.run(describe);
    if (!facts) {
        throw Ended{Reason::no_action, "failed", "fetched_certificate_malformed"};
    }
    auto record = [this, &cert, &facts] {
        store_.record_fetched(*claim_, cert->der, facts->first, facts->second);
    };
    co_await pool_.run(record);
    outcome_.outcome = "succeeded";
    outcome_.cause = "certificate_fetched md5=" + facts->first;
    co_await end_session(channel, session_id, Reason::no_action);
}

asio::awaitable<void> Dialogue::remove(MessageChannel& channel, std::uint32_t session_id) {
    co_await channel.send(Message(Command::delete_cert_request, session_id));
    const Message reply =
        co_await receive(channel, Command::delete_cert_response, after(settings_.read_timeout));
    if (reply.find<Tag::reason>() != Reason::success) {
        throw Ended{Reason::invalid_element, "failed",
                    "delete_refused: reason " + reason_text(reply.find<Tag::reason>())};
    }
    auto record = [this] { store_.record_deleted(*claim_); };
    co_await pool_.run(record);
    outcome_.outcome = "succeeded";
    outcome_.cause = "certificate_deleted";
    co_await end_session(channel, session_id, Reason::success);
}

}  // namespace capf
