// Writes the seed corpus of the dialogue fuzz target (format:
// dialogue_input.hpp): the success of every operation under every auth
// mode, then the failures and the channel's troubles. Usage:
//   capf_make_dialogue_seeds DIR   (tests/fuzz/CMakeLists.txt says when)
#include <cstdio>
#include <string>
#include <vector>

#include "protocol/message.hpp"
#include "tests/fuzz/dialogue_input.hpp"
#include "tests/fuzz/seed_file.hpp"

using namespace capf::fuzz;
using Input = std::vector<std::uint8_t>;

namespace {

// Opening bytes 0 and 1.
constexpr std::uint8_t null_string = 0, auth_string = 1, lsc = 2, mic = 3, lsc_or_mic = 4;
constexpr std::uint8_t install = 0, fetch = 1, delete_op = 2;
const char* const mode_names[] = {"null-string", "auth-string", "lsc", "mic", "lsc-or-mic"};
const char* const operation_names[] = {"install", "fetch", "delete"};
// Opening byte 2.
constexpr std::uint8_t retries_3 = 3, unknown_outcome = 0x20, completes_install = 0x40,
                       presents_mic = 0x80;
constexpr std::uint8_t key_spec(unsigned n) {
    return static_cast<std::uint8_t>(n << 2);
}
// Opening byte 3.
constexpr std::uint8_t fetched_refused = 1, intermediate = 0x10, sudi = 0x20;
constexpr std::uint8_t database_fails_at(unsigned call) {
    return static_cast<std::uint8_t>(call << 1);
}

constexpr std::uint8_t reason_success = 1, reason_no_action = 0, reason_refused = 7;

Input opening(std::uint8_t mode, std::uint8_t operation, std::uint8_t a = retries_3,
              std::uint8_t b = 0) {
    return {mode, operation, a, b};
}

/// What a phone that does its part says after the opening.
void succeed(Input& in, std::uint8_t operation, std::uint8_t flags = 0) {
    switch (operation) {
        case install:
            put(in, {op(Act::in_progress, flags), op(Act::key_gen_key, flags), 0,
                     op(Act::store_response, flags), reason_success});
            break;
        case fetch:
            put(in, {op(Act::fetch_response, flags), reason_success,
                     static_cast<std::uint8_t>(FetchCert::authenticated)});
            break;
        default:
            put(in, {op(Act::delete_response, flags), reason_success});
            break;
    }
}

/// A raw read of one encoded message.
void raw_frame(Input& in, const capf::protocol::Message& m) {
    const capf::protocol::Bytes frame = capf::protocol::encode(m);
    in.push_back(op(Act::raw));
    in.push_back(static_cast<std::uint8_t>(frame.size()));
    in.insert(in.end(), frame.begin(), frame.end());
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 2) {
        std::fprintf(stderr, "usage: %s DIR\n", argv[0]);
        return 2;
    }
    std::vector<std::pair<std::string, Input>> seeds;
    // Every operation under every auth mode, to its success; the key specs
    // vary with the mode.
    for (std::uint8_t operation : {install, fetch, delete_op}) {
        for (std::uint8_t mode : {null_string, auth_string, lsc, mic, lsc_or_mic}) {
            Input in = opening(mode, operation, retries_3 | key_spec(mode + 1u));
            succeed(in, operation);
            seeds.emplace_back(
                std::string("ok-") + operation_names[operation] + "-" + mode_names[mode], in);
        }
    }
    Input in = opening(lsc_or_mic, fetch, retries_3 | presents_mic);
    succeed(in, fetch);
    seeds.emplace_back("ok-fetch-lsc-or-mic-presenting-a-mic", in);
    in = opening(mic, install, retries_3 | key_spec(6), intermediate | sudi);
    succeed(in, install);
    seeds.emplace_back("ok-install-mic-with-intermediate-and-sudi", in);

    // Install: retries, the key, the phone's refusal.
    in = opening(null_string, install, 2);
    put(in,
        {op(Act::key_gen_failed), reason_refused, op(Act::silence), op(Act::in_progress),
         op(Act::key_gen_key), 4, 0x30, 0x02, 0x05, 0x00, op(Act::store_response), reason_success});
    seeds.emplace_back("install-after-a-failure-and-a-timeout", in);
    in = opening(null_string, install, 1);
    put(in, {op(Act::key_gen_failed), reason_refused, op(Act::in_progress), op(Act::silence)});
    seeds.emplace_back("install-keygen-retries-used-up", in);
    seeds.emplace_back("install-keygen-silent", opening(auth_string, install, 0));
    in = opening(null_string, install);
    put(in, {op(Act::key_gen_bad_key)});
    seeds.emplace_back("install-key-rejected", in);
    in = opening(mic, install);
    put(in, {op(Act::key_gen_key), 0, op(Act::store_response), reason_refused});
    seeds.emplace_back("install-store-refused", in);
    in = opening(null_string, install);
    put(in, {op(Act::key_gen_key), 0, op(Act::key_gen_key), 0});
    seeds.emplace_back("install-unexpected-second-key", in);
    seeds.emplace_back("install-lsc-confirmed",
                       opening(lsc, install, unknown_outcome | completes_install));
    in = opening(lsc_or_mic, delete_op, unknown_outcome);
    succeed(in, delete_op);
    seeds.emplace_back("delete-after-confirming-an-unknown-outcome-lsc", in);

    // Fetch: what the phone returns.
    in = opening(null_string, fetch);
    put(in,
        {op(Act::fetch_response), reason_no_action, static_cast<std::uint8_t>(FetchCert::none)});
    seeds.emplace_back("fetch-nothing-to-give", in);
    in = opening(lsc, fetch);
    put(in, {op(Act::fetch_response), reason_success, static_cast<std::uint8_t>(FetchCert::other)});
    seeds.emplace_back("fetch-not-the-authenticated-certificate", in);
    in = opening(auth_string, fetch);
    put(in,
        {op(Act::fetch_response), reason_success, static_cast<std::uint8_t>(FetchCert::garbage)});
    seeds.emplace_back("fetch-malformed-certificate", in);
    in = opening(null_string, fetch, retries_3, fetched_refused);
    succeed(in, fetch);
    seeds.emplace_back("fetch-refused-by-the-authority", in);

    // Delete refused, and messages out of place.
    in = opening(auth_string, delete_op);
    put(in, {op(Act::delete_response), reason_refused});
    seeds.emplace_back("delete-refused", in);
    in = opening(null_string, fetch);
    put(in, {op(Act::store_response), reason_success});
    seeds.emplace_back("fetch-answered-with-store-response", in);

    // The database goes away: at record_issued, at record_store_confirmed.
    in = opening(null_string, install, retries_3, database_fails_at(1));
    succeed(in, install);
    seeds.emplace_back("install-database-down-at-issue", in);
    in = opening(null_string, install, retries_3, database_fails_at(2));
    succeed(in, install);
    seeds.emplace_back("install-database-down-at-confirmation", in);

    // The channel: hang-ups, failed writes, another session, split and cut frames.
    in = opening(null_string, install);
    put(in, {op(Act::in_progress), op(Act::hang_up)});
    seeds.emplace_back("install-phone-hangs-up", in);
    in = opening(null_string, delete_op);
    put(in, {op(Act::send_fails, flag_timed_out)});
    seeds.emplace_back("delete-write-times-out", in);
    in = opening(lsc, fetch);
    put(in, {op(Act::send_fails)});
    seeds.emplace_back("fetch-connection-reset", in);
    in = opening(null_string, delete_op);
    put(in, {op(Act::delete_response, flag_other_session), reason_success});
    seeds.emplace_back("delete-another-session-id", in);
    in = opening(mic, install);
    succeed(in, install, flag_split);
    seeds.emplace_back("ok-install-split-frames", in);
    in = opening(null_string, delete_op);
    put(in, {op(Act::delete_response, flag_truncate), reason_success, op(Act::hang_up)});
    seeds.emplace_back("delete-frame-cut-short", in);

    // Raw reads: a whole delete response, then bytes that are not CAPF.
    in = opening(null_string, delete_op);
    raw_frame(in, capf::protocol::Message(capf::protocol::Command::delete_cert_response, session_id)
                      .add<capf::protocol::Tag::reason>(capf::protocol::Reason::success));
    seeds.emplace_back("ok-delete-raw-frame", in);
    in = opening(null_string, delete_op);
    put(in, {op(Act::raw), 8, 0x16, 0x03, 0x01, 0x00, 0x2a, 0x01, 0x00, 0x00});
    seeds.emplace_back("delete-not-capf", in);
    // Elements: a KEY_GEN_RESPONSE { PUBLIC_KEY 30 00 }, built element by element.
    in = opening(null_string, install);
    put(in, {op(Act::elements), 3, 1, 8, 2, 0x30, 0x00, op(Act::store_response), reason_success});
    seeds.emplace_back("ok-install-key-from-elements", in);

    const std::string dir = argv[1];
    for (const auto& [name, bytes] : seeds) {
        if (!capf::fuzz::write_seed_file(dir + "/" + name + ".bin", bytes)) {
            std::fprintf(stderr, "cannot write %s/%s.bin\n", dir.c_str(), name.c_str());
            return 1;
        }
    }
    return 0;
}
