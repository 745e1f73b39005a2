// The input format of the dialogue fuzz target (dialogue_fuzz.cpp), shared
// with its seed generator (make_dialogue_seeds.cpp). Bytes past the end of
// the input read as zero, so every input, even an empty one, is a session.
//
// The opening, four bytes: who the phone is and what is pending for it.
//
//   byte 0  auth mode, % 5: null-string, auth-string, lsc, mic, lsc-or-mic
//   byte 1  operation, % 3: install, fetch, delete
//   byte 2  bits 0-1  keygen retries (0-3)
//           bits 2-4  key spec: ca::phone_key_specs()[n % size]
//           bit 5     the LSC presented is one whose outcome is unknown
//                     (presenting it confirms it; lsc and lsc-or-mic)
//           bit 6     and that confirmation completes the install (install only)
//           bit 7     lsc-or-mic presents a MIC instead of an LSC
//   byte 3  bit 0     the authority refuses every fetched certificate
//           bits 1-3  n > 0: the n-th record_* call of the store throws
//                     StoreUnavailable (the database went away)
//           bit 4     a certificate mode's AUTH_RESPONSE also carries an
//                     intermediate (a second CERTIFICATE)
//           bit 5     and SUDI_DATA
//
// The harness answers AUTH_REQUEST itself with a valid AUTH_RESPONSE for
// that device. The rest of the input is what the phone does next: actions,
// each an opcode byte (low nibble: the kind, high nibble: flags) and its
// operands. Messages are encoded and fed to the dialogue's frame reader as
// the bytes of one read each, as the TLS channel does.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <vector>

namespace capf::fuzz {

/// The session id the harness runs the dialogue with (the frame reader's
/// seeds use it too, so their frames are valid here).
inline constexpr std::uint32_t session_id = 0x5EED0001;

/// opcode & 0x0F. Kinds 12-15 read as `raw`.
enum class Act : std::uint8_t {
    raw = 0,              ///< n, then n bytes: one read of whatever bytes
    key_gen_key = 1,      ///< KEY_GEN_RESPONSE { PUBLIC_KEY }: n, n key bytes (0: a fixed key)
    key_gen_bad_key = 2,  ///< KEY_GEN_RESPONSE with a key the authority rejects
    key_gen_failed = 3,   ///< KEY_GEN_RESPONSE { REASON r }: r
    in_progress = 4,      ///< REQUEST_IN_PROGRESS
    store_response = 5,   ///< STORE_CERT_RESPONSE { REASON r }: r
    fetch_response = 6,   ///< FETCH_CERT_RESPONSE { REASON r, CERTIFICATE }: r, c (FetchCert)
    delete_response = 7,  ///< DELETE_CERT_RESPONSE { REASON r }: r
    elements = 8,         ///< command c, n, n x (tag t, length l, l bytes); c, t % their count
    silence = 9,          ///< the phone says nothing: that read reaches its deadline
    hang_up = 10,         ///< the phone closes the connection
    send_fails = 11,      ///< the server's next write fails: timed out with flag_timed_out,
                          ///< else the phone is gone
};

/// Flags of the message actions (1-8).
inline constexpr std::uint8_t flag_other_session = 0x10;  ///< another session id
inline constexpr std::uint8_t flag_split = 0x20;          ///< the frame arrives in two reads
inline constexpr std::uint8_t flag_truncate = 0x40;  ///< its last byte is missing: the next frame
                                                     ///< runs into it
/// Flag of send_fails.
inline constexpr std::uint8_t flag_timed_out = 0x10;

/// The operand c of fetch_response, % 4; FetchCert::mic_bit makes it a MIC.
enum class FetchCert : std::uint8_t {
    authenticated = 0,  ///< the certificate the phone authenticated with (or a fixed LSC)
    other = 1,          ///< another, well-formed certificate
    none = 2,           ///< no CERTIFICATE element
    garbage = 3,        ///< a certificate the authority cannot parse
    mic_bit = 4,
};

inline std::uint8_t op(Act a, std::uint8_t flags = 0) {
    return static_cast<std::uint8_t>(static_cast<std::uint8_t>(a) | flags);
}

/// Appends bytes to an input; for the seed generator.
inline void put(std::vector<std::uint8_t>& input, std::initializer_list<std::uint8_t> bytes) {
    input.insert(input.end(), bytes.begin(), bytes.end());
}

}  // namespace capf::fuzz
