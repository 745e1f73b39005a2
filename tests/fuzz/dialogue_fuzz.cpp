// libFuzzer target for the CAPF dialogue (issue 13): the real capf::Dialogue
// after a real authenticated opening, then whatever the phone does next,
// read from the input (its format: dialogue_input.hpp).
//
// The ports are in memory. The store and the authority are the unit tests'
// fakes (tests/capf/dialogue/dialogue_fakes.hpp) with the session's checks added. The
// channel mirrors capf/phone/message_channel.cpp: the phone's bytes go
// through a protocol::FrameReader that expects the session id, so a bad
// frame reaches the dialogue as ProtocolError; a silent phone is TimedOut, a
// closed connection PeerClosed (or ProtocolError when it ends inside a
// frame). When the input runs out the phone is silent: receive() throws
// TimedOut at once. Nothing waits and nothing sleeps, so keygen timeouts
// and retries cost no time.
//
// Every port call checks what must hold at that point, and the outcome is
// checked at the end (check_send, the Fuzz* classes, check_outcome). A
// violation aborts with its reason, which libFuzzer reports as a crash.
//
// CAPF_FUZZ_REPORT=1 prints each input's outcome and, at exit, for how many
// of the 15 operation x auth-mode pairs the operation itself succeeded (an
// install confirmed by the phone, a fetch or a delete recorded): the
// fuzz/dialogue_seeds test requires all 15 of the committed seeds.
#include <algorithm>
#include <array>
#include <asio/co_spawn.hpp>
#include <asio/io_context.hpp>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <exception>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <utility>

#include "capf/common/log.hpp"
#include "capf/dialogue/dialogue.hpp"
#include "protocol/decoder.hpp"
#include "tests/capf/dialogue/dialogue_fakes.hpp"
#include "tests/fuzz/dialogue_input.hpp"

namespace {

using namespace capf;
using fuzz::Act;
using fuzz::session_id;
using protocol::Bytes;
using protocol::CertType;
using protocol::Command;
using protocol::Message;
using protocol::Reason;
using protocol::Tag;

const std::string device_name = "SEP001122334455";
const std::string the_auth_string = "fuzz-auth-string";
// Certificates are opaque bytes to the dialogue; the fake authority parses
// what starts with a DER SEQUENCE tag.
const Bytes presented_lsc = {0x30, 0x03, 0x02, 0x01, 0x4c};
const Bytes presented_mic = {0x30, 0x03, 0x02, 0x01, 0x4d};
const std::string presented_serial = "cafe01";  // of either, as the authority verifies it
const Bytes intermediate_certificate = {0x30, 0x03, 0x02, 0x01, 0x49};
const protocol::SudiData sudi{Bytes(16, 0x30), Bytes(8, 0x33), protocol::HashId::sha512,
                              Bytes(8, 0x34)};
const Bytes other_certificate = {0x30, 0x03, 0x02, 0x01, 0x0f};
const Bytes garbage_certificate = {0x04, 0x01, 0x00};
const Bytes fixed_public_key = {0x30, 0x59, 0x30, 0x13, 0x06, 0x07};
const Bytes rejected_public_key = {'b', 'a', 'd'};  // FakeAuthority::issue_lsc refuses it

[[noreturn]] void violated(const char* what) {
    std::fprintf(stderr, "dialogue invariant violated: %s\n", what);
    std::abort();
}

void require(bool ok, const char* what) {
    if (!ok)
        violated(what);
}

/// The input, read front to back; past its end every byte reads as zero.
class Input {
  public:
    explicit Input(std::span<const std::uint8_t> bytes) : rest_(bytes) {}
    bool empty() const noexcept { return rest_.empty(); }
    std::uint8_t byte() {
        if (rest_.empty())
            return 0;
        const std::uint8_t b = rest_.front();
        rest_ = rest_.subspan(1);
        return b;
    }
    Bytes bytes(std::size_t n) {
        n = std::min(n, rest_.size());
        Bytes out(rest_.begin(), rest_.begin() + static_cast<std::ptrdiff_t>(n));
        rest_ = rest_.subspan(n);
        return out;
    }

  private:
    std::span<const std::uint8_t> rest_;
};

constexpr std::array<AuthMode, 5> auth_modes = {AuthMode::null_string, AuthMode::auth_string,
                                                AuthMode::lsc, AuthMode::mic, AuthMode::lsc_or_mic};
constexpr std::array<Operation, 3> operations = {Operation::install, Operation::fetch,
                                                 Operation::remove};

/// The device the phone is, and what is pending for it (bytes 0-3).
struct Opening {
    AuthMode mode = AuthMode::null_string;
    Operation operation = Operation::install;
    unsigned keygen_retries = 0;
    ca::KeySpec key_spec;
    bool unknown_outcome = false;
    bool confirm_completes_install = false;
    bool present_mic = false;
    bool fetched_refused = false;
    unsigned failing_record_call = 0;  ///< 0: none
    bool intermediate = false;
    bool with_sudi = false;

    bool with_certificate() const noexcept {
        return mode == AuthMode::lsc || mode == AuthMode::mic || mode == AuthMode::lsc_or_mic;
    }
    bool presents_mic() const noexcept {
        return mode == AuthMode::mic || (mode == AuthMode::lsc_or_mic && present_mic);
    }
    const Bytes& presented() const noexcept {
        return presents_mic() ? presented_mic : presented_lsc;
    }
};

Opening read_opening(Input& in) {
    Opening o;
    o.mode = auth_modes[in.byte() % auth_modes.size()];
    o.operation = operations[in.byte() % operations.size()];
    const std::uint8_t a = in.byte();
    o.keygen_retries = a & 3u;
    const auto specs = ca::phone_key_specs();
    o.key_spec = specs[((a >> 2) & 7u) % specs.size()];
    o.present_mic = (a & 0x80) != 0;
    const bool lsc_presented = o.with_certificate() && !o.presents_mic();
    o.unknown_outcome = lsc_presented && (a & 0x20) != 0;
    o.confirm_completes_install =
        o.unknown_outcome && (a & 0x40) != 0 && o.operation == Operation::install;
    const std::uint8_t b = in.byte();
    o.fetched_refused = (b & 1u) != 0;
    o.failing_record_call = (b >> 1) & 7u;
    o.intermediate = (b & 0x10) != 0;
    o.with_sudi = (b & 0x20) != 0;
    return o;
}

/// The phone's valid AUTH_RESPONSE for the device, echoing the session id.
Message auth_response(const Opening& o, std::uint32_t session) {
    Message m(Command::auth_response, session);
    m.add<Tag::version>(protocol::protocol_version).add<Tag::device_name>(device_name);
    m.add<Tag::password>(o.mode == AuthMode::auth_string ? the_auth_string : std::string());
    if (o.with_certificate()) {
        const CertType type = o.presents_mic() ? CertType::mic : CertType::lsc;
        m.add<Tag::certificate>(protocol::CertificateValue{type, o.presented()})
            .add<Tag::signed_data>(Bytes(20, 0x11))
            .add<Tag::sha2_signed_data>(
                protocol::Sha2SignedData{protocol::HashId::sha512, Bytes(64, 0x22)});
        if (o.intermediate)
            m.add<Tag::certificate>(
                protocol::CertificateValue{CertType::mic, intermediate_certificate});
        if (o.with_sudi)
            m.add<Tag::sudi_data>(sudi);
    }
    return m;
}

/// One thing the phone does, as the channel meets it.
struct Action {
    enum class Kind { read, silence, hang_up, send_fails };
    Kind kind = Kind::read;
    Bytes bytes;             ///< read: what the read returns
    bool timed_out = false;  ///< send_fails: a write timeout rather than a reset
};

Bytes fetched_der(fuzz::FetchCert which, const Opening& o) {
    switch (which) {
        case fuzz::FetchCert::authenticated:
            return o.with_certificate() ? o.presented() : presented_lsc;
        case fuzz::FetchCert::other:
            return other_certificate;
        case fuzz::FetchCert::garbage:
            return garbage_certificate;
        default:
            return {};
    }
}

/// The message of a message action (kinds 1-8), its operands read from `in`.
/// Throws ProtocolError when the operands make a value no encoder accepts.
Message phone_message(Act act, Input& in, const Opening& o, std::uint32_t session) {
    switch (act) {
        case Act::key_gen_key: {
            Message m(Command::key_gen_response, session);
            Bytes key = in.bytes(in.byte());
            m.add<Tag::public_key>(key.empty() ? fixed_public_key : key);
            return m;
        }
        case Act::key_gen_bad_key: {
            Message m(Command::key_gen_response, session);
            m.add<Tag::public_key>(rejected_public_key);
            return m;
        }
        case Act::key_gen_failed: {
            Message m(Command::key_gen_response, session);
            m.add<Tag::reason>(static_cast<Reason>(in.byte()));
            return m;
        }
        case Act::store_response:
        case Act::delete_response: {
            Message m(act == Act::store_response ? Command::store_cert_response
                                                 : Command::delete_cert_response,
                      session);
            m.add<Tag::reason>(static_cast<Reason>(in.byte()));
            return m;
        }
        case Act::fetch_response: {
            Message m(Command::fetch_cert_response, session);
            m.add<Tag::reason>(static_cast<Reason>(in.byte()));
            const std::uint8_t c = in.byte();
            const Bytes der = fetched_der(static_cast<fuzz::FetchCert>(c % 4u), o);
            const bool mic = (c & static_cast<std::uint8_t>(fuzz::FetchCert::mic_bit)) != 0;
            if (!der.empty())
                m.add<Tag::certificate>(
                    protocol::CertificateValue{mic ? CertType::mic : CertType::lsc, der});
            return m;
        }
        case Act::elements: {
            Message m(protocol::all_commands[in.byte() % protocol::all_commands.size()], session);
            const unsigned n = in.byte() % 8u;
            for (unsigned i = 0; i < n; ++i) {
                const Tag tag = protocol::all_tags[in.byte() % protocol::all_tags.size()];
                const Bytes value = in.bytes(in.byte());
                try {
                    m.add_raw(tag, value);
                } catch (const protocol::ProtocolError&) {
                    // Not a value of that tag: left out (raw reads send such bytes).
                }
            }
            return m;
        }
        default:
            return Message(Command::request_in_progress, session);
    }
}

std::deque<Action> read_actions(Input& in, const Opening& o) {
    std::deque<Action> out;
    while (!in.empty()) {
        const std::uint8_t opcode = in.byte();
        const auto flags = static_cast<std::uint8_t>(opcode & 0xF0u);
        const auto act = static_cast<Act>(opcode & 0x0Fu);
        switch (act) {
            case Act::silence:
                out.push_back({Action::Kind::silence, {}, false});
                continue;
            case Act::hang_up:
                out.push_back({Action::Kind::hang_up, {}, false});
                continue;
            case Act::send_fails:
                out.push_back({Action::Kind::send_fails, {}, (flags & fuzz::flag_timed_out) != 0});
                continue;
            case Act::key_gen_key:
            case Act::key_gen_bad_key:
            case Act::key_gen_failed:
            case Act::in_progress:
            case Act::store_response:
            case Act::fetch_response:
            case Act::delete_response:
            case Act::elements:
                break;
            default:  // raw, and the kinds 12-15
                out.push_back({Action::Kind::read, in.bytes(in.byte()), false});
                continue;
        }
        const std::uint32_t session =
            (flags & fuzz::flag_other_session) != 0 ? session_id + 1 : session_id;
        Bytes frame;
        try {
            frame = protocol::encode(phone_message(act, in, o, session));
        } catch (const protocol::ProtocolError&) {
            continue;
        }
        if ((flags & fuzz::flag_truncate) != 0)
            frame.pop_back();  // never empty: the header alone has 8 bytes
        if ((flags & fuzz::flag_split) != 0) {
            const auto half = static_cast<std::ptrdiff_t>(frame.size() / 2);
            out.push_back({Action::Kind::read, Bytes(frame.begin(), frame.begin() + half), false});
            out.push_back({Action::Kind::read, Bytes(frame.begin() + half, frame.end()), false});
        } else {
            out.push_back({Action::Kind::read, std::move(frame), false});
        }
    }
    return out;
}

/// What one session did, as its ports saw it. The store's calls run on the
/// pool, the channel's on the I/O thread, but never at the same time: the
/// dialogue awaits each.
struct Session {
    explicit Session(const Opening& o) : opening(o) {}
    const Opening& opening;

    // The channel.
    unsigned sends = 0;                    ///< send() calls, delivered or not
    std::vector<Message> delivered;        ///< what reached the phone
    std::optional<Message> last_received;  ///< the latest message the dialogue received
    std::optional<Reason> end_delivered;   ///< an END_SESSION reached the phone
    bool channel_failed = false;           ///< a write failed, or the phone hung up
    bool peer_closed_thrown = false;       ///< the channel told the dialogue PeerClosed
    unsigned key_gen_requests = 0;
    std::optional<Bytes> store_request_der;  ///< the certificate of the last STORE_CERT_REQUEST

    // The store.
    std::optional<OperationClaim> claim;
    bool released = false;
    unsigned record_calls = 0;  ///< record_* calls, for the injected database failure
    std::vector<IssuedCertificateRecord> issued;  ///< recorded by record_issued
    unsigned outcomes_recorded = 0;               ///< successful outcome-recording calls
    std::optional<SessionCause> success_recorded;
    unsigned failures_attempted = 0;  ///< record_failure and record_store_refused calls
};

bool holds(const Session& s) {
    return s.claim && !s.released;
}

bool last_received_is(const Session& s, Command c) {
    return s.last_received && s.last_received->command() == c;
}

/// Checks every message the dialogue sends, whether or not it gets through.
void check_send(Session& s, const Message& m) {
    // A phone that heard END_SESSION, or that hung up, hears nothing more.
    require(!s.end_delivered, "a message was sent after END_SESSION");
    require(!s.peer_closed_thrown, "a message was sent after the channel threw PeerClosed");
    require(m.session_id() == session_id, "a message carries another session id");
    Bytes wire;
    try {
        wire = protocol::encode(m);
    } catch (const protocol::ProtocolError&) {
        violated("the dialogue built a message that does not encode");
    }
    const auto decoded = protocol::decode_message(
        wire, protocol::DecodeLimits{protocol::absolute_max_message_size}, session_id);
    const auto* back = std::get_if<Message>(&decoded);
    require(back != nullptr && *back == m, "a message does not decode back to itself");

    const bool first = s.sends++ == 0;
    require(first == (m.command() == Command::auth_request),
            "AUTH_REQUEST is not the first message, or not the only one");
    const Operation op = s.opening.operation;
    switch (m.command()) {
        case Command::auth_request:
            require(m.elements().size() == 2 && m.find<Tag::version>() == 3 &&
                        m.find<Tag::auth_type>() == protocol::AuthType::none,
                    "AUTH_REQUEST is not { VERSION 3, AUTH_TYPE 0 }");
            break;
        case Command::key_gen_request: {
            require(holds(s) && op == Operation::install, "KEY_GEN_REQUEST outside an install");
            require(++s.key_gen_requests <= s.opening.keygen_retries + 1,
                    "more KEY_GEN_REQUESTs than one plus the retries");
            const ca::KeySpec& spec = s.opening.key_spec;
            const bool rsa = spec.algorithm == ca::KeySpec::Algorithm::rsa;
            require(
                m.find<Tag::key_type>() == (rsa ? protocol::KeyType::rsa : protocol::KeyType::ec),
                "KEY_GEN_REQUEST asks for another key type");
            if (rsa) {
                require(m.find<Tag::key_size>() == spec.bits, "KEY_GEN_REQUEST asks another size");
            } else {
                const auto curve = spec.bits == 256   ? protocol::Curve::p256
                                   : spec.bits == 384 ? protocol::Curve::p384
                                                      : protocol::Curve::p521;
                require(m.find<Tag::curve>() == curve, "KEY_GEN_REQUEST asks another curve");
            }
            break;
        }
        case Command::store_cert_request: {
            require(holds(s) && op == Operation::install, "STORE_CERT_REQUEST outside an install");
            const auto cert = m.find<Tag::certificate>();
            require(
                m.find<Tag::cert_type>() == CertType::lsc && cert && cert->type == CertType::lsc,
                "STORE_CERT_REQUEST does not carry an LSC");
            // A certificate is recorded before it is sent.
            require(!s.issued.empty() && s.issued.back().der == cert->der,
                    "STORE_CERT_REQUEST carries a certificate record_issued did not record");
            s.store_request_der = cert->der;
            break;
        }
        case Command::fetch_cert_request:
            require(holds(s) && op == Operation::fetch && m.elements().empty(),
                    "FETCH_CERT_REQUEST outside a fetch, or with elements");
            break;
        case Command::delete_cert_request:
            require(holds(s) && op == Operation::remove && m.elements().empty(),
                    "DELETE_CERT_REQUEST outside a delete, or with elements");
            break;
        case Command::end_session:
            require(m.find<Tag::reason>().has_value(), "END_SESSION without a REASON");
            break;
        default:
            violated("the dialogue sent a command a CAPF server never sends");
    }
}

/// The phone: the input's actions, through a frame reader as on the wire.
class FuzzChannel final : public MessageChannel {
  public:
    FuzzChannel(Session& s, std::deque<Action> actions) : s_(s), actions_(std::move(actions)) {}

    asio::awaitable<void> send(const Message& message) override {
        check_send(s_, message);
        if (hung_up_)
            peer_closed("the phone has hung up (fuzz)");
        // The opening is the harness's own; the input's failures start after it.
        if (opened_) {
            if (const auto timed_out = next_send_failure()) {
                s_.channel_failed = true;
                if (*timed_out)
                    throw TimedOut("write timed out (fuzz)");
                hung_up_ = true;
                peer_closed("the connection was reset (fuzz)");
            }
        }
        s_.delivered.push_back(message);
        if (message.command() == Command::end_session)
            s_.end_delivered = message.find<Tag::reason>();
        if (message.command() == Command::auth_request && !opened_)
            reader_.feed(protocol::encode(auth_response(s_.opening, message.session_id())));
        co_return;
    }

    asio::awaitable<Message> receive(Deadline /*deadline: every wait ends at once*/) override {
        if (hung_up_)
            peer_closed("the phone has hung up (fuzz)");
        for (;;) {
            auto next = reader_.next();
            if (auto* message = std::get_if<Message>(&next)) {
                opened_ = true;
                s_.last_received = *message;
                co_return std::move(*message);
            }
            if (auto* error = std::get_if<protocol::Error>(&next))
                throw protocol::ProtocolError(*error);
            require(opened_, "the harness's AUTH_RESPONSE did not reach the dialogue");
            if (actions_.empty())
                throw TimedOut("the phone has nothing more to say (fuzz)");
            Action action = std::move(actions_.front());
            actions_.pop_front();
            switch (action.kind) {
                case Action::Kind::read:
                    reader_.feed(action.bytes);
                    break;
                case Action::Kind::silence:
                    throw TimedOut("the phone said nothing (fuzz)");
                case Action::Kind::hang_up:
                    hung_up_ = true;
                    s_.channel_failed = true;
                    if (auto partial = reader_.end_of_stream())
                        throw protocol::ProtocolError(*partial);
                    peer_closed("the phone closed the connection (fuzz)");
                case Action::Kind::send_fails:
                    pending_send_failure_ = action.timed_out;
                    break;
            }
        }
    }

    void expect_session_id(std::uint32_t id) override {
        require(id == session_id, "the dialogue expects another session id");
        reader_.expect_session_id(id);
    }

  private:
    [[noreturn]] void peer_closed(const char* why) {
        s_.peer_closed_thrown = true;
        throw PeerClosed(why);
    }

    /// Whether this write fails, and how (true: it times out).
    std::optional<bool> next_send_failure() {
        if (!pending_send_failure_ && !actions_.empty() &&
            actions_.front().kind == Action::Kind::send_fails) {
            pending_send_failure_ = actions_.front().timed_out;
            actions_.pop_front();
        }
        return std::exchange(pending_send_failure_, std::nullopt);
    }

    Session& s_;
    std::deque<Action> actions_;
    protocol::FrameReader reader_;
    bool opened_ = false;
    bool hung_up_ = false;
    std::optional<bool> pending_send_failure_;
};

bool same_claim(const OperationClaim& a, const OperationClaim& b) {
    return a.device == b.device && a.node == b.node && a.operation == b.operation &&
           a.auth_string_hash == b.auth_string_hash;
}

/// The unit tests' store, with the session's checks and an injected
/// database failure.
class FuzzStore final : public test::FakeDeviceStore {
  public:
    explicit FuzzStore(Session& s) : s_(s) {
        const Opening& o = s.opening;
        devices[device_name] =
            DeviceForSession{device_name, o.operation, o.mode, o.key_spec, false, false};
        auth_strings[device_name] = the_auth_string;
        if (o.unknown_outcome)
            standings[presented_serial] = CertificateStanding::unknown_outcome;
        confirm_completes_install = o.confirm_completes_install;
    }

    ClaimOutcome claim_operation(const std::string& device, const std::string& node,
                                 const ClaimExpectation& expected) override {
        require(!s_.claim, "claimed twice");
        ClaimOutcome out = FakeDeviceStore::claim_operation(device, node, expected);
        require(out.status == ClaimOutcome::Status::claimed && out.claim,
                "the claim after the authenticated opening was refused");
        s_.claim = out.claim;
        return out;
    }
    PresentedConfirmation confirm_presented(const std::string& device, const std::string& serial,
                                            const std::vector<std::uint8_t>& key,
                                            const std::string& peer) override {
        const PresentedConfirmation c =
            FakeDeviceStore::confirm_presented(device, serial, key, peer);
        if (c.completed_install)
            outcome_recorded(SessionCause::lsc_confirmed);
        return c;
    }
    void release_claim(const OperationClaim& c) override {
        require(s_.claim && same_claim(c, *s_.claim), "released a claim the session never took");
        require(!s_.released, "a claim was released twice");
        s_.released = true;
    }
    void record_issued(const OperationClaim& c, const IssuedCertificateRecord& cert,
                       const std::string& peer) override {
        check_held(c, Operation::install);
        record_call();
        FakeDeviceStore::record_issued(c, cert, peer);
        s_.issued.push_back(cert);
    }
    void record_store_confirmed(const OperationClaim& c, const IssuedCertificateRecord& cert,
                                const std::string& peer) override {
        check_held(c, Operation::install);
        require(last_received_is(s_, Command::store_cert_response) &&
                    s_.last_received->find<Tag::reason>() == Reason::success,
                "record_store_confirmed without a STORE_CERT_RESPONSE { REASON 1 }");
        require(s_.store_request_der == cert.der, "confirmed a certificate that was not sent");
        require(!s_.issued.empty() && s_.issued.back().serial_hex == cert.serial_hex,
                "confirmed a certificate never recorded as issued");
        record_call();
        FakeDeviceStore::record_store_confirmed(c, cert, peer);
        outcome_recorded(SessionCause::lsc_installed);
    }
    void record_store_refused(const OperationClaim& c, const std::string& serial,
                              const std::string& reason, const std::string& peer) override {
        check_held(c, Operation::install);
        ++s_.failures_attempted;
        require(last_received_is(s_, Command::store_cert_response) &&
                    s_.last_received->find<Tag::reason>() != Reason::success,
                "record_store_refused without a STORE_CERT_RESPONSE refusing");
        require(!s_.issued.empty() && s_.issued.back().serial_hex == serial,
                "refused a certificate never recorded as issued");
        record_call();
        FakeDeviceStore::record_store_refused(c, serial, reason, peer);
        outcome_recorded(std::nullopt);
    }
    void record_fetched(const OperationClaim& c, const std::vector<std::uint8_t>& der,
                        const std::string& md5, const std::vector<std::uint8_t>& key,
                        const std::string& peer) override {
        check_held(c, Operation::fetch);
        const auto cert = s_.last_received ? s_.last_received->find<Tag::certificate>()
                                           : std::optional<protocol::CertificateValue>();
        require(last_received_is(s_, Command::fetch_cert_response) &&
                    s_.last_received->find<Tag::reason>() == Reason::success && cert &&
                    cert->der == der,
                "record_fetched without a FETCH_CERT_RESPONSE { REASON 1, that CERTIFICATE }");
        require(!s_.opening.with_certificate() || der == s_.opening.presented(),
                "recorded a fetched certificate that is not the one the phone authenticated with");
        require(!s_.opening.fetched_refused, "recorded a certificate the authority refused");
        record_call();
        FakeDeviceStore::record_fetched(c, der, md5, key, peer);
        outcome_recorded(SessionCause::certificate_fetched);
    }
    void record_deleted(const OperationClaim& c, const std::string& peer) override {
        check_held(c, Operation::remove);
        require(last_received_is(s_, Command::delete_cert_response) &&
                    s_.last_received->find<Tag::reason>() == Reason::success,
                "record_deleted without a DELETE_CERT_RESPONSE { REASON 1 }");
        record_call();
        FakeDeviceStore::record_deleted(c, peer);
        outcome_recorded(SessionCause::certificate_deleted);
    }
    void record_failure(const OperationClaim& c, const std::string& reason,
                        const std::string& peer) override {
        check_held(c, s_.opening.operation);
        ++s_.failures_attempted;
        record_call();
        FakeDeviceStore::record_failure(c, reason, peer);
        outcome_recorded(std::nullopt);
    }

  private:
    void check_held(const OperationClaim& c, Operation op) const {
        require(holds(s_) && same_claim(c, *s_.claim), "a record_* call outside the claim");
        require(c.operation == op, "a record_* call of another operation");
    }
    /// The injected outage: that call fails before it changes anything.
    void record_call() {
        if (++s_.record_calls == s_.opening.failing_record_call)
            throw StoreUnavailable("the database went away (fuzz)");
    }
    void outcome_recorded(std::optional<SessionCause> success) {
        require(++s_.outcomes_recorded <= 1, "a second outcome was recorded for one session");
        s_.success_recorded = success;
    }

    Session& s_;
};

/// The unit tests' authority: it accepts the presented certificate.
class FuzzAuthority final : public test::FakeAuthority {
  public:
    explicit FuzzAuthority(Session& s) : s_(s) {
        verified_serial = presented_serial;
        if (s.opening.fetched_refused)
            fetched_result = "not_this_device";
    }

    CertificateVerdict verify_presented(const std::string& device, const PresentedCertificate& p,
                                        std::uint32_t session) override {
        const Opening& o = s_.opening;
        require(p.der == o.presented() && session == session_id,
                "verified another certificate or session than the phone presented");
        require(p.role == (o.presents_mic() ? CertificateRole::mic : CertificateRole::lsc),
                "verified the certificate in another role than the phone presented it");
        require(p.intermediates == (o.intermediate ? std::vector<Bytes>{intermediate_certificate}
                                                   : std::vector<Bytes>{}),
                "the authority was not given exactly the phone's intermediates");
        require(p.sudi == (o.with_sudi ? std::optional<protocol::SudiData>(sudi) : std::nullopt),
                "the authority was not given exactly the phone's SUDI_DATA");
        return FakeAuthority::verify_presented(device, p, session);
    }
    IssuedCertificateRecord issue_lsc(const std::string& device,
                                      const std::vector<std::uint8_t>& key,
                                      const ca::KeySpec& spec) override {
        require(holds(s_) && s_.opening.operation == Operation::install,
                "issued an LSC outside an install");
        require(spec == s_.opening.key_spec, "issued for another key spec than the device's");
        require(last_received_is(s_, Command::key_gen_response) &&
                    s_.last_received->find<Tag::public_key>() == key,
                "issued for a key the phone did not just send");
        return FakeAuthority::issue_lsc(device, key, spec);
    }
    std::optional<std::pair<std::string, std::vector<std::uint8_t>>> describe_certificate(
        const std::vector<std::uint8_t>& der) override {
        if (der.empty() || der.front() != 0x30)
            return std::nullopt;
        return FakeAuthority::describe_certificate(der);
    }

  private:
    Session& s_;
};

bool is_success(SessionCause c) {
    return c == SessionCause::lsc_installed || c == SessionCause::certificate_fetched ||
           c == SessionCause::certificate_deleted || c == SessionCause::lsc_confirmed;
}

void check_outcome(const Session& s, const SessionOutcome& o) {
    const bool succeeded = o.result == SessionResult::succeeded;
    require(o.cause != SessionCause::none, "the session ended without a cause");
    require(succeeded == is_success(o.cause), "the outcome's result and cause disagree");
    require(o.result != SessionResult::no_action,
            "no action after an authenticated opening with an operation pending");
    require(o.device == device_name, "the outcome names another device");

    // The opening is real: it reaches the claim, unless presenting an
    // unknown-outcome LSC finished the install there and then.
    const bool confirmed = s.success_recorded == SessionCause::lsc_confirmed;
    require(s.claim.has_value() != confirmed, "the opening did not end in exactly one claim");
    require(!s.claim || s.released, "the claim was not released");

    // A success is the store's, and the store's success is the outcome.
    if (succeeded) {
        require(s.success_recorded == o.cause, "a succeeded outcome the store did not record");
        require(o.operation == (confirmed ? Operation::install : s.opening.operation),
                "a succeeded outcome of another operation");
        // Its END_SESSION may be lost with the channel; the success stands.
        const Reason expected =
            o.cause == SessionCause::certificate_fetched ? Reason::no_action : Reason::success;
        require(s.end_delivered == expected || (s.channel_failed && !s.end_delivered),
                "a success did not end with its END_SESSION reason");
    }
    require(!s.success_recorded || succeeded,
            "the store recorded a success, the session's outcome is not one");
    // Every failure of a claimed operation is recorded.
    require(!s.claim || succeeded || s.failures_attempted > 0, "a failure went unrecorded");

    // A working channel always hears END_SESSION, last.
    require(s.channel_failed ||
                (s.end_delivered && s.delivered.back().command() == Command::end_session),
            "the session ended without END_SESSION on a working channel");
    if (s.end_delivered) {
        require(o.end_reason == s.end_delivered, "the outcome's end reason is not the one sent");
        require(*s.end_delivered != Reason::success || succeeded,
                "END_SESSION { REASON 1 } ended a session that did not succeed");
    }
    require(o.cause != SessionCause::phone_closed_connection || s.peer_closed_thrown,
            "phone_closed_connection, yet the channel never threw PeerClosed");
}

/// One I/O thread and one pool for every input: threads per input are slow.
struct Runtime {
    asio::io_context io;
    BlockingPool pool{1};
};

Runtime& runtime() {
    static Runtime r;
    return r;
}

/// CAPF_FUZZ_REPORT=1: what each input did.
struct Report {
    bool enabled = false;
    unsigned inputs = 0;
    std::set<std::pair<Operation, AuthMode>> succeeded;
};

Report report;

void print_report_summary() {
    std::printf(
        "dialogue-fuzz: %u inputs; sessions succeeded for %zu of %zu operation x auth-mode "
        "pairs\n",
        report.inputs, report.succeeded.size(), operations.size() * auth_modes.size());
    for (Operation op : operations) {
        for (AuthMode mode : auth_modes) {
            if (!report.succeeded.count({op, mode}))
                std::printf("dialogue-fuzz: no success for %s under %s\n",
                            std::string(storage::to_text(op)).c_str(),
                            std::string(storage::to_text(mode)).c_str());
        }
    }
    std::fflush(stdout);
}

void report_outcome(const Opening& opening, const SessionOutcome& o) {
    ++report.inputs;
    // The operation's own success: an install confirmed by STORE_CERT_RESPONSE
    // (not an earlier LSC confirmed by presenting it), a fetch, a delete.
    const SessionCause done = opening.operation == Operation::install ? SessionCause::lsc_installed
                              : opening.operation == Operation::fetch
                                  ? SessionCause::certificate_fetched
                                  : SessionCause::certificate_deleted;
    if (o.cause == done)
        report.succeeded.insert({opening.operation, opening.mode});
    std::printf("dialogue-fuzz: %s %s -> %s %s\n",
                std::string(storage::to_text(opening.operation)).c_str(),
                std::string(storage::to_text(opening.mode)).c_str(),
                std::string(session_result_name(o.result)).c_str(), o.cause_text().c_str());
}

bool env_is_1(const char* name) {
    const char* value = std::getenv(name);
    return value != nullptr && std::strcmp(value, "1") == 0;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int* /*argc*/, char*** /*argv*/) {
    // Every log line is still formatted (level debug), then dropped.
    log::set_level(log::Level::debug);
    log::set_sink([](std::string_view) {});
    if (env_is_1("CAPF_FUZZ_REPORT")) {
        report.enabled = true;
        std::atexit(print_report_summary);
    }
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    Input in(std::span<const std::uint8_t>(data, size));
    const Opening opening = read_opening(in);
    Session session(opening);
    FuzzChannel channel(session, read_actions(in, opening));
    FuzzStore store(session);
    FuzzAuthority authority(session);

    DialogueSettings settings;
    settings.node = "fuzz-node";
    settings.keygen_retries = opening.keygen_retries;
    Runtime& rt = runtime();
    Dialogue dialogue(settings, store, authority, rt.pool, "192.0.2.1:50000");
    std::optional<SessionOutcome> outcome;
    bool threw = false;
    asio::co_spawn(rt.io, dialogue.run(channel, session_id),
                   [&](std::exception_ptr error, SessionOutcome o) {
                       threw = error != nullptr;
                       if (!error)
                           outcome = std::move(o);
                   });
    rt.io.run();
    rt.io.restart();
    require(!threw, "Dialogue::run threw");
    require(outcome.has_value(), "the dialogue did not complete");
    check_outcome(session, *outcome);
    if (report.enabled)
        report_outcome(opening, *outcome);
    return 0;
}
