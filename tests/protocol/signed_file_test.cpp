// The signed-file header and ITL records of protocol/README.md, sections 8.1
// and 9, as bytes: exact layout, round trips, and refusal of every
// truncated or damaged header.
#include "protocol/signed_file.hpp"

#include <catch2/catch.hpp>
#include <string>

#include "protocol/error.hpp"
#include "tests/protocol/hex.hpp"

// The file's own namespace: the suite is compiled in unity batches, and its
// file-local names must not meet another file's.
namespace signed_file_test_cases {

using namespace capf::protocol;
using capf::test::from_hex;

namespace {

SignedFileHeader small_header() {
    SignedFileHeader h;
    h.signer = {"CN=a", {0x01}, "CN=b", 64};
    h.hash = FileHash::sha1;
    h.file_name = "f";
    h.timestamp = 0x01020304;
    return h;
}

SignedFileHeader encrypted_header() {
    SignedFileHeader h;
    h.major = 2;
    h.signer = {"CN=tftp,O=Example", {0x7f, 0x01, 0x02}, "CN=tftp,O=Example", 256};
    h.hash = FileHash::sha512;
    h.signature = Bytes(256, 0xA5);
    h.file_name = "SEP001122334455.cnf.xml.enc.sgn";
    h.timestamp = 1700000000;
    FileEncryption e;
    e.iv = Bytes(16, 0x11);
    e.pad_count = 7;
    e.wrapped_key_bits = 2048;
    e.wrapped_key = Bytes(256, 0x22);
    e.digest_hash = FileHash::sha1;
    e.digest = Bytes(20, 0x33);
    h.encryption = e;
    return h;
}

SignedFileHeader itl_header() {
    SignedFileHeader h;
    h.minor = 2;
    h.signer_version = std::pair<std::uint8_t, std::uint8_t>{1, 0};
    h.signer = {"CN=tftp", {0x01, 0x00}, "CN=tftp", 128};
    h.signature = Bytes(128, 0x5A);
    h.file_name = "ITLFile.tlv";
    h.timestamp = 42;
    return h;
}

ItlRecord sample_record(ItlRole role) {
    return {"CN=capf,O=Example", role,
            "CN=root,O=Example", {0x0A, 0x0B},
            Bytes(140, 0x01),    Bytes(256, 0x02),
            Bytes(900, 0x03)};
}

Bytes slice(const Bytes& b, std::size_t from, std::size_t to) {
    return Bytes(b.begin() + static_cast<std::ptrdiff_t>(from),
                 b.begin() + static_cast<std::ptrdiff_t>(to));
}

Bytes concat(Bytes a, const Bytes& b) {
    a.insert(a.end(), b.begin(), b.end());
    return a;
}

void require_same(const SignedFileHeader& a, const SignedFileHeader& b) {
    REQUIRE(a.major == b.major);
    REQUIRE(a.minor == b.minor);
    REQUIRE(a.signer_version == b.signer_version);
    REQUIRE(a.signer.signer_name == b.signer.signer_name);
    REQUIRE(a.signer.serial == b.signer.serial);
    REQUIRE(a.signer.issuer_name == b.signer.issuer_name);
    REQUIRE(a.signer.modulus_bytes == b.signer.modulus_bytes);
    REQUIRE(a.hash == b.hash);
    REQUIRE(a.file_name == b.file_name);
    REQUIRE(a.timestamp == b.timestamp);
    REQUIRE(a.encryption.has_value() == b.encryption.has_value());
    if (a.encryption) {
        REQUIRE(a.encryption->iv == b.encryption->iv);
        REQUIRE(a.encryption->pad_count == b.encryption->pad_count);
        REQUIRE(a.encryption->wrapped_key_bits == b.encryption->wrapped_key_bits);
        REQUIRE(a.encryption->wrapped_key == b.encryption->wrapped_key);
        REQUIRE(a.encryption->digest_hash == b.encryption->digest_hash);
        REQUIRE(a.encryption->digest == b.encryption->digest);
    }
}

Errc parse_error(const Bytes& file) {
    try {
        parse_signed_file(file);
    } catch (const ProtocolError& e) {
        return e.code();
    }
    FAIL("parse_signed_file accepted a damaged file");
    return Errc::invalid_value;
}

/// The tags of the top-level header elements in file order, padding shown
/// as 13 once per byte.
std::vector<int> top_level_tags(const Bytes& header) {
    std::vector<int> tags;
    std::size_t i = 0;
    while (i < header.size()) {
        tags.push_back(header[i]);
        if (header[i] == 13) {
            ++i;
            continue;
        }
        i += 3 + ((std::size_t{header[i + 1]} << 8) | header[i + 2]);
    }
    return tags;
}

}  // namespace

TEST_CASE("signed file header: exact bytes of a small .sgn header (section 8.1 order)") {
    const Bytes expected = from_hex(
        "01 0002 0100"
        "02 0002 0084"
        "03 0014  04 0005 434e3d6100  06 0005 434e3d6200  05 0001 01"
        "07 000f  08 0001 01  09 0008 0a 0001 00 0b 0001 00"
        "0c 0040" +
        std::string(128, '0') +
        "0e 0002 6600"
        "0f 0004 01020304"
        "0d 0d");
    REQUIRE(encode_header(small_header()) == expected);
}

TEST_CASE("signed file header: tag order of .sgn, .enc.sgn and ITL headers") {
    auto without_padding = [](std::vector<int> tags) {
        while (!tags.empty() && tags.back() == 13)
            tags.pop_back();
        return tags;
    };
    REQUIRE(without_padding(top_level_tags(encode_header(small_header()))) ==
            std::vector<int>{1, 2, 3, 7, 12, 14, 15});
    REQUIRE(without_padding(top_level_tags(encode_header(encrypted_header()))) ==
            std::vector<int>{1, 2, 3, 7, 12, 14, 15, 16, 26, 27});
    REQUIRE(without_padding(top_level_tags(encode_header(itl_header()))) ==
            std::vector<int>{1, 2, 28, 3, 7, 12, 14, 15});
}

TEST_CASE(
    "signed file header: the containers hold 4, 6, 5 / 8, 9(10, 11) / 17(18, 19, 20), "
    "21(22, 23, 24, 25)") {
    const Bytes h = encode_header(encrypted_header());
    // Signer container right after tags 1 and 2.
    REQUIRE(h[10] == 3);
    std::size_t i = 13;
    REQUIRE(h[i] == 4);
    i += 3 + std::size_t{h[i + 2]};
    REQUIRE(h[i] == 6);
    i += 3 + std::size_t{h[i + 2]};
    REQUIRE(h[i] == 5);
    i += 3 + std::size_t{h[i + 2]};
    // Signature info: length 15.
    REQUIRE(slice(h, i, i + 18) == from_hex("07 000f 08 0001 03 09 0008 0a 0001 00 0b 0001 02"));
    // Encryption info.
    const std::size_t enc = 10 + (3 + std::size_t{h[12]}) + 18 + (3 + 256) + (3 + 32) + 7;
    REQUIRE(h[enc] == 16);
    const Bytes iv_info = slice(h, enc + 3, enc + 3 + 31);
    REQUIRE(iv_info == concat(concat(from_hex("11 001c 12 0001 00 13 0010"), Bytes(16, 0x11)),
                              from_hex("14 0002 0007")));
    const std::size_t key = enc + 3 + 31;
    REQUIRE(slice(h, key, key + 17) == from_hex("15 0110 16 0001 00 17 0002 0800 18 0001 01 19"));
}

TEST_CASE(
    "signed file header: its length is a multiple of 4 and what tag 2 says, for name "
    "lengths 0..40") {
    for (std::size_t n = 0; n <= 40; ++n) {
        for (bool encrypted : {false, true}) {
            SignedFileHeader h = encrypted ? encrypted_header() : small_header();
            h.file_name = std::string(n, 'x');
            h.signer.signer_name = std::string(n / 2, 'y');
            const Bytes bytes = encode_header(h);
            CAPTURE(n, encrypted);
            REQUIRE(bytes.size() % 4 == 0);
            REQUIRE(((std::size_t{bytes[8]} << 8) | bytes[9]) == bytes.size());
            // At most three padding bytes, each 0x0d.
            std::size_t pad = 0;
            while (bytes[bytes.size() - 1 - pad] == 13 && pad < 4)
                ++pad;
            REQUIRE(pad <= 3);
            REQUIRE(parse_signed_file(bytes).header_length == bytes.size());
        }
    }
}

TEST_CASE("signed file: round trips of .sgn, .enc.sgn and ITL headers with payloads") {
    const Bytes payload = {'<', 'd', 'e', 'v', 'i', 'c', 'e', '/', '>'};
    for (const auto& h : {small_header(), encrypted_header(), itl_header()}) {
        const Bytes header = encode_header(h);
        const ParsedSignedFile parsed = parse_signed_file(concat(header, payload));
        require_same(parsed.header, h);
        REQUIRE(parsed.header_length == header.size());
        REQUIRE(parsed.payload == payload);
        REQUIRE(parsed.header.signature ==
                (h.signature.empty() ? Bytes(h.signer.modulus_bytes, 0) : h.signature));
    }
}

TEST_CASE("signed file: signed_portion removes exactly the 3 + N bytes of tag 12") {
    for (const auto& h : {small_header(), encrypted_header(), itl_header()}) {
        const Bytes file = concat(encode_header(h), Bytes{1, 2, 3, 4, 5});
        const Bytes portion = signed_portion(file);
        const std::size_t n = h.signer.modulus_bytes;
        REQUIRE(portion.size() == file.size() - 3 - n);
        // Tag 12 sits right after tag 7 (whose container ends with 9).
        std::size_t at = 0;
        while (file[at] != 12 || file[at + 1] != static_cast<std::uint8_t>(n >> 8) ||
               file[at + 2] != static_cast<std::uint8_t>(n))
            ++at;
        Bytes expected(file.begin(), file.begin() + static_cast<std::ptrdiff_t>(at));
        expected.insert(expected.end(), file.begin() + static_cast<std::ptrdiff_t>(at + 3 + n),
                        file.end());
        REQUIRE(portion == expected);
        REQUIRE(file[at - 4] == 11);  // the modulus index element ends just before
    }
}

TEST_CASE("signed file: every truncated prefix of a header is refused, not crashed on") {
    for (const auto& h : {small_header(), encrypted_header(), itl_header()}) {
        const Bytes header = encode_header(h);
        for (std::size_t n = 0; n < header.size(); ++n) {
            CAPTURE(n);
            const Bytes prefix(header.begin(), header.begin() + static_cast<std::ptrdiff_t>(n));
            REQUIRE_THROWS_AS(parse_signed_file(prefix), ProtocolError);
            REQUIRE_THROWS_AS(signed_portion(prefix), ProtocolError);
        }
        REQUIRE_NOTHROW(parse_signed_file(header));
    }
}

TEST_CASE("signed file: damaged headers are refused with the matching error") {
    Bytes bad_hash = encode_header(small_header());
    bad_hash[39] = 2;  // tag 8's value
    REQUIRE(bad_hash[36] == 8);
    REQUIRE(parse_error(bad_hash) == Errc::invalid_value);

    Bytes long_header = encode_header(small_header());
    long_header[9] = static_cast<std::uint8_t>(long_header[9] + 4);
    REQUIRE(parse_error(long_header) == Errc::length_overrun);

    Bytes not_terminated = encode_header(small_header());
    not_terminated[20] = 'x';  // the NUL of the signer name
    REQUIRE(parse_error(not_terminated) == Errc::text_not_terminated);

    Bytes bad_modulus = encode_header(small_header());
    bad_modulus[50] = 4;  // tag 11's value
    REQUIRE(bad_modulus[47] == 11);
    REQUIRE(parse_error(bad_modulus) == Errc::invalid_value);

    Bytes wrong_version = encode_header(small_header());
    wrong_version[0] = 9;
    REQUIRE(parse_error(wrong_version) == Errc::missing_element);

    SignedFileHeader short_signature = small_header();
    short_signature.signature = Bytes(10, 1);
    REQUIRE_THROWS_AS(encode_header(short_signature), ProtocolError);
    SignedFileHeader odd_modulus = small_header();
    odd_modulus.signer.modulus_bytes = 384;  // RSA 3072: no index for it
    REQUIRE_THROWS_AS(encode_header(odd_modulus), ProtocolError);
}

TEST_CASE("ITL records: order 1, 3, 5, 6, 4, 7, 8, 9, and round trips") {
    const ItlRecord record = sample_record(ItlRole::capf);
    const Bytes bytes = encode_itl_record(record);
    REQUIRE(top_level_tags(bytes) == std::vector<int>{1, 3, 5, 6, 4, 7, 8, 9});
    REQUIRE(((std::size_t{bytes[3]} << 8) | bytes[4]) == bytes.size());

    const Bytes payload = concat(concat(encode_itl_record(sample_record(ItlRole::sast)), bytes),
                                 encode_itl_record(sample_record(ItlRole::tvs)));
    const auto records = parse_itl_records(payload);
    REQUIRE(records.size() == 3);
    REQUIRE(records[0].role == ItlRole::sast);
    REQUIRE(records[2].role == ItlRole::tvs);
    const ItlRecord& r = records[1];
    REQUIRE(r.role == ItlRole::capf);
    REQUIRE(r.subject_name == record.subject_name);
    REQUIRE(r.issuer_name == record.issuer_name);
    REQUIRE(r.serial == record.serial);
    REQUIRE(r.public_key == record.public_key);
    REQUIRE(r.signature == record.signature);
    REQUIRE(r.certificate_der == record.certificate_der);
}

TEST_CASE("ITL records: every prefix that cuts a record is refused, not crashed on") {
    const Bytes one = encode_itl_record(sample_record(ItlRole::sast));
    const Bytes payload = concat(one, encode_itl_record(sample_record(ItlRole::tftp)));
    for (std::size_t n = 0; n < payload.size(); ++n) {
        const Bytes prefix(payload.begin(), payload.begin() + static_cast<std::ptrdiff_t>(n));
        CAPTURE(n);
        if (n == 0 || n == one.size()) {
            // A cut between records leaves a well-formed, shorter list: only
            // the file's signature can tell (ca/tftp_files tests that).
            REQUIRE(parse_itl_records(prefix).size() == (n == 0 ? 0u : 1u));
        } else {
            REQUIRE_THROWS_AS(parse_itl_records(prefix), ProtocolError);
        }
    }
}

namespace {

/// A CTL of three records (SAST1, SAST2 that signs, TFTP), signature bytes
/// invented: parse_trust_list reads, it does not verify.
Bytes sample_ctl(std::vector<std::size_t>* record_ends = nullptr) {
    SignedFileHeader h = itl_header();
    h.file_name = ctl_file_name;
    h.signer = {"CN=SAST2-node", {0x02, 0x7F}, "CN=SAST2-node", 128};
    ItlRecord sast1 = sample_record(ItlRole::sast);
    sast1.subject_name = "CN=SAST1-node";
    sast1.serial = {0x01};
    ItlRecord sast2 = sample_record(ItlRole::sast);
    sast2.subject_name = "CN=SAST2-node";
    sast2.serial = {0x02, 0x7F};
    Bytes file = encode_header(h);
    for (const ItlRecord& r : {sast1, sast2, sample_record(ItlRole::tftp)}) {
        file = concat(file, encode_itl_record(r));
        if (record_ends != nullptr)
            record_ends->push_back(file.size());
    }
    return file;
}

}  // namespace

TEST_CASE("trust list: a CTL parses to its signer and records in file order") {
    const Bytes file = sample_ctl();
    const TrustList list = parse_trust_list(file);
    REQUIRE(list.header.file_name == "CTLFile.tlv");
    REQUIRE(list.header.major == 1);
    REQUIRE(list.header.minor == 2);
    REQUIRE(list.header.signer_version == std::pair<std::uint8_t, std::uint8_t>{1, 0});
    REQUIRE(list.header.signer.signer_name == "CN=SAST2-node");
    REQUIRE(list.header.signer.serial == Bytes{0x02, 0x7F});
    REQUIRE(list.header_length == encode_header(list.header).size());
    REQUIRE(list.records.size() == 3);
    REQUIRE(list.records[0].subject_name == "CN=SAST1-node");
    REQUIRE(list.records[1].role == ItlRole::sast);
    REQUIRE(list.records[2].role == ItlRole::tftp);
    REQUIRE(list.records[2].certificate_der == Bytes(900, 0x03));
    // The reader's record: SAST with the header's serial, the second one.
    REQUIRE(signer_record(list) == std::optional<std::size_t>{1});
}

TEST_CASE("trust list: no SAST record with the signer's serial, no signer record") {
    TrustList list = parse_trust_list(sample_ctl());
    list.records[1].role = ItlRole::tftp;  // the serial matches, the role does not
    REQUIRE_FALSE(signer_record(list).has_value());
    list.records[1].role = ItlRole::sast;
    list.header.signer.serial = {0x03};
    REQUIRE_FALSE(signer_record(list).has_value());
}

TEST_CASE("trust list: every truncated prefix is refused, except a cut between records") {
    std::vector<std::size_t> record_ends;
    const Bytes file = sample_ctl(&record_ends);
    const std::size_t header_length = parse_trust_list(file).header_length;
    for (std::size_t n = 0; n < file.size(); ++n) {
        const Bytes prefix = slice(file, 0, n);
        CAPTURE(n);
        std::size_t whole_records = 0;
        bool at_boundary = n == header_length;
        for (const std::size_t end : record_ends) {
            whole_records += end <= n ? 1 : 0;
            at_boundary = at_boundary || end == n;
        }
        if (at_boundary) {
            // A well-formed shorter list: only the signature can tell.
            REQUIRE(parse_trust_list(prefix).records.size() == whole_records);
        } else {
            REQUIRE_THROWS_AS(parse_trust_list(prefix), ProtocolError);
        }
    }
}

TEST_CASE("trust list: a signed file that is not an ITL or CTL is refused") {
    // A .sgn header (version 1.0, no signer version) before the records.
    const Bytes records = encode_itl_record(sample_record(ItlRole::sast));
    SignedFileHeader sgn = small_header();
    REQUIRE_THROWS_AS(parse_trust_list(concat(encode_header(sgn), records)), ProtocolError);
    // Version 1.2 without tag 28.
    SignedFileHeader no_signer_version = itl_header();
    no_signer_version.signer_version.reset();
    try {
        parse_trust_list(concat(encode_header(no_signer_version), records));
        FAIL("accepted a trust list without its signer version");
    } catch (const ProtocolError& e) {
        REQUIRE(e.code() == Errc::missing_element);
    }
    // Garbage after the header: not a record.
    SignedFileHeader itl = itl_header();
    REQUIRE_THROWS_AS(parse_trust_list(concat(encode_header(itl), Bytes{0x09, 0x00, 0x01, 0x00})),
                      ProtocolError);
}

}  // namespace signed_file_test_cases
