// capf-phone: the phone side of CAPF over TLS, for tests and for trying a
// capfd by hand. It behaves like a Cisco phone (protocol/README.md,
// section 5) and has knobs to misbehave. It uses Botan directly, not ca/, so a
// bug in the server's crypto cannot hide behind the same code on both sides.
//
// The phone keeps its state in --state DIR: lsc.pem and lsc-key.pem (its
// LSC and key, written when the server's certificate is stored), and
// sudi.pem, its SUDI. Like a 7800/8800-class phone it adds SUDI_DATA to every
// certificate authentication (LSC or MIC): by default a SUDI issued by the
// test manufacturer root in --sudi-ca (made on first use; the tests share one
// per run and configure it as a sudi-root where they want the strict rules),
// or the one --sudi-cert names; --no-sudi is an older phone that has none.
//
// Prints one JSON line describing the session; exits 0 when the server ended
// the session with END_SESSION (whatever the reason) or when a misbehaviour
// ends it on purpose (--store-gate, --hang-up-at), 2 on a TLS or protocol
// failure, 3 on a timeout.
#include <botan/auto_rng.h>
#include <botan/data_src.h>
#include <botan/ec_group.h>
#include <botan/ecdsa.h>
#include <botan/hash.h>
#include <botan/hex.h>
#include <botan/pkcs8.h>
#include <botan/pubkey.h>
#include <botan/rsa.h>
#include <botan/x509cert.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <thread>

#include "protocol/decoder.hpp"
#include "tests/phone/blocking_tls_client.hpp"
#include "tests/phone/test_sudi.hpp"

using namespace capf;
using protocol::Command;
using protocol::Message;
using protocol::Reason;
using protocol::Tag;
namespace fs = std::filesystem;

namespace {

struct Options {
    std::string host = "127.0.0.1";
    std::uint16_t port = 3804;
    std::string name;
    std::string tls = "tls12";
    std::string capf_cert;
    std::string state = ".";
    std::string auth = "none";  // none | auth-string | lsc | mic
    std::string auth_string;
    std::string mic_cert, mic_key, sudi_cert, sudi_key;
    std::string sudi_ca;   // DIR of the test manufacturer root; default: STATE/sudi-ca
    bool no_sudi = false;  // an older phone: no SUDI_DATA at all
    std::string present_cert, present_key;  // present another certificate (misbehaving)
    std::string mic_chain;                  // PEM bundle of intermediates sent after the MIC
    bool bad_sudi_proof = false;            // corrupt the SUDI SHA-1 signature
    std::string store_gate;                 // DIR: after storing, wait for DIR/go before confirming
    std::string keep_refused;               // DIR: with refuse_store, keep what was refused
    std::string hang_up_at;                 // keygen | store: close the connection on that request
    std::string fetch_cert;                 // PEM to answer FETCH_CERT_REQUEST with
    std::string raw_name;                   // hex: the DEVICE_NAME value as raw bytes, unchecked
    double keygen_delay = 0;
    int keygen_fail = 0;
    bool silent = false;
    bool wrong_session_id = false;
    bool garbage = false;
    bool refuse_store = false;
    bool bad_proof = false;    // corrupt the SHA-1 proof of possession
    int protocol_version = 3;  // VERSION sent in AUTH_RESPONSE
    std::string keygen_key;    // answer KEY_GEN_REQUEST with a key of this spec
    int timeout = 60;
};

class PhoneError : public std::runtime_error {
  public:
    PhoneError(int code, const std::string& what) : std::runtime_error(what), exit_code(code) {}
    int exit_code;
};

std::unique_ptr<Botan::Private_Key> load_key(const std::string& path) {
    Botan::DataSource_Stream source(path);
    return Botan::PKCS8::load_key(source);
}

/// Every certificate of a PEM bundle, in file order.
std::vector<Botan::X509_Certificate> load_bundle(const std::string& path) {
    Botan::DataSource_Stream source(path);
    std::vector<Botan::X509_Certificate> out;
    while (!source.end_of_data()) {
        try {
            out.emplace_back(source);
        } catch (const Botan::Decoding_Error&) {
            break;  // trailing text after the last certificate
        }
    }
    if (out.empty())
        throw PhoneError(2, "no certificate in " + path);
    return out;
}

void write_private_file(const fs::path& path, const std::string& content) {
    {
        std::ofstream out(path);
        out << content;
    }
    fs::permissions(path, fs::perms::owner_read | fs::perms::owner_write);
}

/// The frame of `m` with one more element, tag DEVICE_NAME and `value`,
/// placed after the first element (VERSION). Built by hand because the
/// encoder refuses names a phone must not send, and sending them is the
/// point (protocol/README.md section 2: tag | length (2) | value).
std::vector<std::uint8_t> encode_with_raw_name(const Message& m,
                                               const std::vector<std::uint8_t>& value) {
    if (value.size() > 0xFFFF)
        throw PhoneError(2, "--raw-name longer than a 16-bit length");
    auto frame = protocol::encode(m);
    constexpr std::size_t header = 8;
    std::size_t at = header;
    if (!m.elements().empty())
        at += 3 + m.elements().front().value.size();
    std::vector<std::uint8_t> element{static_cast<std::uint8_t>(Tag::device_name),
                                      static_cast<std::uint8_t>(value.size() >> 8),
                                      static_cast<std::uint8_t>(value.size() & 0xFF)};
    element.insert(element.end(), value.begin(), value.end());
    frame.insert(frame.begin() + static_cast<std::ptrdiff_t>(at), element.begin(), element.end());
    const std::size_t body = frame.size() - header;
    if (body > 0xFFFF)
        throw PhoneError(2, "AUTH_RESPONSE with --raw-name exceeds 65535 bytes");
    frame[6] = static_cast<std::uint8_t>(body >> 8);
    frame[7] = static_cast<std::uint8_t>(body & 0xFF);
    return frame;
}

std::vector<std::uint8_t> digest(const char* algo, std::span<const std::uint8_t> data) {
    auto h = Botan::HashFunction::create_or_throw(algo);
    h->update(data.data(), data.size());
    const auto out = h->final();
    return {out.begin(), out.end()};
}

/// protocol/README.md section 5.2/5.3 proof of possession: RSA signs the bare digest with
/// PKCS#1 v1.5 type-1 padding and no DigestInfo; ECDSA signs normally.
std::vector<std::uint8_t> prove(const Botan::Private_Key& key, std::span<const std::uint8_t> data,
                                bool sha512, Botan::RandomNumberGenerator& rng) {
    if (key.algo_name() == "RSA") {
        Botan::PK_Signer signer(key, rng, "EMSA3(Raw)");
        return signer.sign_message(digest(sha512 ? "SHA-512" : "SHA-1", data), rng);
    }
    Botan::PK_Signer signer(key, rng, sha512 ? "EMSA1(SHA-512)" : "EMSA1(SHA-1)",
                            Botan::DER_SEQUENCE);
    return signer.sign_message(data.data(), data.size(), rng);
}

class Phone {
  public:
    explicit Phone(Options o) : o_(std::move(o)) {}

    nlohmann::json run() {
        nlohmann::json report{{"device", o_.name}, {"stored", false}};
        prepare_own_sudi();
        std::optional<Botan::X509_Certificate> trusted;
        if (!o_.capf_cert.empty())
            trusted.emplace(o_.capf_cert);
        const auto tls =
            o_.tls == "legacy" ? test::PhoneTls::tls10_rsa : test::PhoneTls::tls12_ecdhe;
        try {
            client_ = std::make_unique<test::BlockingTlsClient>(
                o_.host, o_.port, tls, std::chrono::seconds(o_.timeout), trusted);
        } catch (const test::TlsClientError& e) {
            throw PhoneError(2, e.what());
        }
        report["tls"] = client_->negotiated();
        for (;;) {
            const Message m = read_next();
            session_id_ = m.session_id();
            switch (m.command()) {
                case Command::auth_request:
                    answer_auth(m);
                    break;
                case Command::key_gen_request:
                    if (o_.hang_up_at == "keygen")
                        return hang_up(report);
                    answer_key_gen(m, report);
                    break;
                case Command::store_cert_request:
                    if (o_.hang_up_at == "store")
                        return hang_up(report);
                    if (answer_store(m, report))
                        return report;  // --store-gate: gone before END_SESSION
                    break;
                case Command::fetch_cert_request:
                    answer_fetch(report);
                    break;
                case Command::delete_cert_request:
                    answer_delete(report);
                    break;
                case Command::end_session: {
                    const auto reason = m.find<Tag::reason>();
                    report["end_reason"] = reason ? static_cast<int>(*reason) : -1;
                    report["key_gen_requests"] = key_gen_requests_;
                    return report;
                }
                default:
                    throw PhoneError(
                        2, "unexpected " + std::string(protocol::command_name(m.command())));
            }
        }
    }

  private:
    /// A phone with a SUDI sends it whenever it authenticates with a
    /// certificate (a SUDI given by hand goes with any authentication). Made
    /// before connecting: a first run's key generation must not eat into
    /// the server's deadline for AUTH_RESPONSE.
    void prepare_own_sudi() {
        const bool certificate_auth =
            !o_.present_cert.empty() || o_.auth == "lsc" || o_.auth == "mic";
        if (!certificate_auth || o_.no_sudi || !o_.sudi_cert.empty())
            return;
        const auto ca_dir =
            o_.sudi_ca.empty() ? fs::path(o_.state) / "sudi-ca" : fs::path(o_.sudi_ca);
        own_sudi_ = test::load_or_make_test_sudi(o_.name, o_.state, ca_dir);
    }

    /// --hang-up-at: close the connection instead of answering, as a phone
    /// that is unplugged or rebooted mid-session.
    nlohmann::json& hang_up(nlohmann::json& report) {
        client_->close();
        report["hung_up"] = o_.hang_up_at;
        report["key_gen_requests"] = key_gen_requests_;
        return report;
    }

    Message read_next() {
        for (;;) {
            auto next = reader_.next();
            if (auto* m = std::get_if<Message>(&next))
                return std::move(*m);
            if (auto* e = std::get_if<protocol::Error>(&next))
                throw PhoneError(2, e->message());
            std::vector<std::uint8_t> data;
            try {
                data = client_->receive_some(std::chrono::seconds(o_.timeout));
            } catch (const test::TlsClientError& e) {
                throw PhoneError(3, e.what());
            }
            if (data.empty())
                throw PhoneError(2, "server closed the connection without END_SESSION");
            reader_.feed(data);
        }
    }

    void send(const Message& m) { send_bytes(protocol::encode(m)); }

    void send_bytes(const std::vector<std::uint8_t>& frame) {
        try {
            client_->send(frame);
        } catch (const test::TlsClientError&) {
            // The server may have ended the session while this phone was busy
            // (a keygen past the timeout): its END_SESSION is still to be read.
            // Reading on reports it, or that the connection closed without one.
        } catch (const Botan::Exception&) {
        }
    }

    std::uint32_t reply_id() const { return o_.wrong_session_id ? session_id_ + 1 : session_id_; }

    void add_certificate_proof(Message& r, const std::vector<std::uint8_t>& der,
                               const Botan::Private_Key& key, protocol::CertType type) {
        std::vector<std::uint8_t> auth_data(o_.name.begin(), o_.name.end());
        auth_data.push_back(0);
        auth_data.insert(auth_data.end(), der.begin(), der.end());
        auto sha1_proof = prove(key, auth_data, false, rng_);
        if (o_.bad_proof)
            sha1_proof[sha1_proof.size() / 2] ^= 0x01;
        r.add<Tag::certificate>(protocol::CertificateValue{type, der})
            .add<Tag::signed_data>(sha1_proof)
            .add<Tag::sha2_signed_data>(protocol::Sha2SignedData{
                protocol::HashId::sha512, prove(key, auth_data, true, rng_)});
    }

    void answer_auth(const Message&) {
        if (o_.silent) {
            return;  // never answer: the server's read deadline must end it
        }
        if (o_.garbage) {
            client_->send(std::vector<std::uint8_t>(32, 0xEE));
            return;
        }
        Message r(Command::auth_response, reply_id());
        r.add<Tag::version>(static_cast<std::uint8_t>(o_.protocol_version));
        if (o_.raw_name.empty())
            r.add<Tag::device_name>(o_.name);
        r.add<Tag::password>(o_.auth == "auth-string" ? o_.auth_string : std::string());
        if (!o_.present_cert.empty()) {
            const auto der = Botan::X509_Certificate(o_.present_cert).BER_encode();
            add_certificate_proof(r, der, *load_key(o_.present_key), protocol::CertType::lsc);
        } else if (o_.auth == "lsc") {
            const auto der =
                Botan::X509_Certificate((fs::path(o_.state) / "lsc.pem").string()).BER_encode();
            add_certificate_proof(r, der, *load_key((fs::path(o_.state) / "lsc-key.pem").string()),
                                  protocol::CertType::lsc);
        } else if (o_.auth == "mic") {
            const auto der = Botan::X509_Certificate(o_.mic_cert).BER_encode();
            add_certificate_proof(r, der, *load_key(o_.mic_key), protocol::CertType::mic);
            add_mic_chain(r);
        }
        if (!o_.sudi_cert.empty()) {
            add_sudi(r, Botan::X509_Certificate(o_.sudi_cert), *load_key(o_.sudi_key));
        } else if (own_sudi_) {
            add_sudi(r, own_sudi_->certificate, *own_sudi_->key);
        }
        r.add<Tag::reason>(Reason::success);
        if (o_.raw_name.empty()) {
            send(r);
        } else {
            send_bytes(encode_with_raw_name(r, Botan::hex_decode(o_.raw_name)));
        }
    }

    /// --mic-chain: the intermediates as further CERTIFICATE elements after
    /// the MIC; the proofs cover only the first certificate.
    void add_mic_chain(Message& r) {
        if (o_.mic_chain.empty())
            return;
        for (const auto& cert : load_bundle(o_.mic_chain)) {
            r.add<Tag::certificate>(
                protocol::CertificateValue{protocol::CertType::mic, cert.BER_encode()});
        }
    }

    /// protocol/README.md section 5.3: both proofs over the little-endian
    /// session id and the SUDI DER, made with the SUDI's key.
    void add_sudi(Message& r, const Botan::X509_Certificate& sudi,
                  const Botan::Private_Key& sudi_key) {
        const auto sudi_der = sudi.BER_encode();
        std::vector<std::uint8_t> data(4);
        for (int i = 0; i < 4; ++i) {  // little-endian: a quirk of the original server
            data[static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(session_id_ >> (8 * i));
        }
        data.insert(data.end(), sudi_der.begin(), sudi_der.end());
        auto sha1_proof = prove(sudi_key, data, false, rng_);
        if (o_.bad_sudi_proof)
            sha1_proof[sha1_proof.size() / 2] ^= 0x01;
        r.add<Tag::sudi_data>(protocol::SudiData{sudi_der, sha1_proof, protocol::HashId::sha512,
                                                 prove(sudi_key, data, true, rng_)});
    }

    void answer_key_gen(const Message& m, nlohmann::json& report) {
        ++key_gen_requests_;
        send(Message(Command::request_in_progress, reply_id()));
        if (o_.keygen_delay > 0) {
            std::this_thread::sleep_for(std::chrono::duration<double>(o_.keygen_delay));
        }
        Message r(Command::key_gen_response, reply_id());
        if (key_gen_requests_ <= o_.keygen_fail) {
            r.add<Tag::reason>(Reason::invalid_element);
            send(r);
            return;
        }
        if (!o_.keygen_key.empty()) {  // misbehave: not the key that was asked for
            const bool rsa = o_.keygen_key.rfind("rsa-", 0) == 0;
            if (rsa) {
                pending_key_ = std::make_unique<Botan::RSA_PrivateKey>(
                    rng_, std::stoul(o_.keygen_key.substr(4)));
            } else {
                pending_key_ = std::make_unique<Botan::ECDSA_PrivateKey>(
                    rng_, Botan::EC_Group("secp" + o_.keygen_key.substr(4) + "r1"));
            }
            report["key"] = o_.keygen_key;
        } else if (m.get<Tag::key_type>() == protocol::KeyType::rsa) {
            pending_key_ = std::make_unique<Botan::RSA_PrivateKey>(rng_, m.get<Tag::key_size>());
            report["key"] = "rsa-" + std::to_string(m.get<Tag::key_size>());
        } else {
            const auto curve = m.get<Tag::curve>();
            const char* names[] = {"secp256r1", "secp384r1", "secp521r1"};
            const char* spec[] = {"ec-p256", "ec-p384", "ec-p521"};
            const auto index = static_cast<std::size_t>(curve);
            if (index > 2)
                throw PhoneError(2, "unknown curve requested");
            pending_key_ =
                std::make_unique<Botan::ECDSA_PrivateKey>(rng_, Botan::EC_Group(names[index]));
            report["key"] = spec[index];
        }
        r.add<Tag::public_key>(pending_key_->subject_public_key())
            .add<Tag::reason>(Reason::success);
        send(r);
    }

    /// Returns true when the phone leaves at once (--store-gate) instead of
    /// reading END_SESSION.
    bool answer_store(const Message& m, nlohmann::json& report) {
        Message r(Command::store_cert_response, reply_id());
        if (o_.refuse_store || !pending_key_) {
            if (o_.refuse_store && !o_.keep_refused.empty() && pending_key_)
                save_lsc(o_.keep_refused, m.get<Tag::certificate>().der);
            r.add<Tag::reason>(static_cast<Reason>(4));
            send(r);
            return false;
        }
        const auto cert = m.get<Tag::certificate>();
        const Botan::X509_Certificate x509 = save_lsc(o_.state, cert.der);
        report["stored"] = true;
        report["serial"] = Botan::hex_encode(x509.serial_number(), false);
        report["md5"] = Botan::hex_encode(digest("MD5", cert.der), false);
        r.add<Tag::reason>(Reason::success);
        if (!o_.store_gate.empty()) {
            wait_at_store_gate();
            send(r);
            client_->close();
            report["unconfirmed"] = true;
            return true;
        }
        send(r);
        return false;
    }

    /// Writes DIR/lsc.pem and DIR/lsc-key.pem (the key pending_key_).
    Botan::X509_Certificate save_lsc(const std::string& dir, const std::vector<std::uint8_t>& der) {
        const Botan::X509_Certificate x509(der);
        fs::create_directories(dir);
        std::ofstream(fs::path(dir) / "lsc.pem") << x509.PEM_encode();
        write_private_file(fs::path(dir) / "lsc-key.pem", Botan::PKCS8::PEM_encode(*pending_key_));
        return x509;
    }

    /// --store-gate DIR: the LSC is stored; say so with DIR/stored and hold
    /// the STORE_CERT_RESPONSE until the test creates DIR/go (so it can stop
    /// or kill capfd between the phone storing and the server recording).
    void wait_at_store_gate() {
        const fs::path gate(o_.store_gate);
        fs::create_directories(gate);
        std::ofstream(gate / "stored").flush();
        const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(o_.timeout);
        while (!fs::exists(gate / "go")) {
            if (std::chrono::steady_clock::now() >= until)
                throw PhoneError(3, "store gate: " + (gate / "go").string() + " did not appear");
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
    }

    void answer_fetch(nlohmann::json& report) {
        Message r(Command::fetch_cert_response, reply_id());
        const auto path =
            o_.fetch_cert.empty() ? fs::path(o_.state) / "lsc.pem" : fs::path(o_.fetch_cert);
        if (!fs::exists(path)) {
            r.add<Tag::reason>(Reason::invalid_element);
        } else {
            const auto der = Botan::X509_Certificate(path.string()).BER_encode();
            r.add<Tag::reason>(Reason::success)
                .add<Tag::certificate>(protocol::CertificateValue{protocol::CertType::lsc, der});
            report["md5"] = Botan::hex_encode(digest("MD5", der), false);
        }
        send(r);
    }

    void answer_delete(nlohmann::json& report) {
        fs::remove(fs::path(o_.state) / "lsc.pem");
        fs::remove(fs::path(o_.state) / "lsc-key.pem");
        report["deleted"] = true;
        Message r(Command::delete_cert_response, reply_id());
        r.add<Tag::reason>(Reason::success);
        send(r);
    }

    Options o_;
    Botan::AutoSeeded_RNG rng_;
    std::unique_ptr<test::BlockingTlsClient> client_;
    protocol::FrameReader reader_;
    std::uint32_t session_id_ = 0;
    int key_gen_requests_ = 0;
    std::unique_ptr<Botan::Private_Key> pending_key_;
    std::optional<test::TestSudi> own_sudi_;
};

}  // namespace

int main(int argc, char** argv) {
    Options o;
    CLI::App app{"capf-phone: a CAPF phone over TLS, for tests and trials"};
    app.add_option("--host", o.host, "capfd address")->capture_default_str();
    app.add_option("--port", o.port, "capfd port")->capture_default_str();
    app.add_option("--name", o.name, "Device name, e.g. SEP001122334455")->required();
    app.add_option("--tls", o.tls, "legacy (TLS 1.0 RSA AES128-SHA, like a 7960) or tls12")
        ->check(CLI::IsMember({"legacy", "tls12"}))
        ->capture_default_str();
    app.add_option("--capf-cert", o.capf_cert,
                   "Trust only this server certificate (the ITL's CAPF)");
    app.add_option("--state", o.state, "Directory holding the phone's LSC and key")
        ->capture_default_str();
    app.add_option("--auth", o.auth, "What to present: none, auth-string, lsc (from --state), mic")
        ->check(CLI::IsMember({"none", "auth-string", "lsc", "mic"}))
        ->capture_default_str();
    app.add_option("--auth-string", o.auth_string, "The auth string typed on the phone");
    app.add_option("--mic-cert", o.mic_cert, "Manufacturing certificate (PEM) for --auth mic");
    app.add_option("--mic-key", o.mic_key, "Its private key (PKCS#8 PEM)");
    app.add_option("--sudi-cert", o.sudi_cert,
                   "SUDI certificate to send (with any authentication) instead of the phone's own");
    app.add_option("--sudi-key", o.sudi_key, "Its private key");
    app.add_option("--sudi-ca", o.sudi_ca,
                   "Directory of the test manufacturer root (root.pem, root-key.pem) that issues "
                   "the phone's own SUDI; made when missing (default: STATE/sudi-ca)");
    app.add_flag("--no-sudi", o.no_sudi,
                 "An older phone: no SUDI_DATA with a certificate authentication");
    app.add_option("--present-cert", o.present_cert, "Misbehave: present this certificate instead");
    app.add_option("--present-key", o.present_key, "...signed with this key");
    app.add_option(
        "--mic-chain", o.mic_chain,
        "PEM bundle of intermediates sent as further CERTIFICATE elements after the MIC");
    app.add_flag("--bad-sudi-proof", o.bad_sudi_proof,
                 "Misbehave: corrupt the SHA-1 signature of SUDI_DATA");
    app.add_option("--store-gate", o.store_gate,
                   "Store the LSC, create DIR/stored, wait for DIR/go, confirm and leave at once");
    app.add_option("--keep-refused", o.keep_refused,
                   "With --refuse-store: keep the refused LSC and key in DIR/lsc.pem, lsc-key.pem");
    app.add_option("--hang-up-at", o.hang_up_at,
                   "Misbehave: close the connection when this request arrives")
        ->check(CLI::IsMember({"keygen", "store"}));
    app.add_option("--fetch-cert", o.fetch_cert,
                   "Misbehave: answer FETCH_CERT_REQUEST with this certificate (PEM)");
    app.add_option("--raw-name", o.raw_name,
                   "Misbehave: DEVICE_NAME value as these hex bytes, unchecked (add 00 to end it)");
    app.add_option("--keygen-delay", o.keygen_delay, "Seconds to spend generating a key");
    app.add_option("--keygen-fail", o.keygen_fail, "Fail the first N key generations");
    app.add_flag("--silent", o.silent, "Misbehave: complete TLS, then never answer");
    app.add_flag("--wrong-session-id", o.wrong_session_id, "Misbehave: echo a wrong session id");
    app.add_flag("--garbage", o.garbage, "Misbehave: answer AUTH_REQUEST with garbage");
    app.add_flag("--refuse-store", o.refuse_store, "Misbehave: refuse to store the LSC");
    app.add_flag("--bad-proof", o.bad_proof, "Misbehave: corrupt the proof of possession");
    app.add_option("--protocol-version", o.protocol_version, "Misbehave: VERSION to send (0-255)")
        ->check(CLI::Range(0, 255))
        ->capture_default_str();
    app.add_option("--keygen-key", o.keygen_key,
                   "Misbehave: answer with a key of this spec (rsa-N, ec-p256/384/521)");
    app.add_option("--timeout", o.timeout, "Seconds to wait for the server")->capture_default_str();
    CLI11_PARSE(app, argc, argv);

    try {
        Phone phone(o);
        std::cout << phone.run().dump() << std::endl;
        return 0;
    } catch (const PhoneError& e) {
        std::cout << nlohmann::json{{"device", o.name}, {"error", e.what()}}.dump() << std::endl;
        return e.exit_code;
    } catch (const std::exception& e) {
        std::cout << nlohmann::json{{"device", o.name}, {"error", e.what()}}.dump() << std::endl;
        return 2;
    }
}
