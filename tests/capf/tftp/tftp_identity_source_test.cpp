// The TFTP signing identity replaced under the encryptors (issue 32, item 5):
// after IdentitySource::replace every delivery that starts signs with the new
// identity, and no ITL is ever signed by a key other than the one its SAST
// record lists, whatever the timing of the replacement.
#include <botan/auto_rng.h>
#include <botan/rsa.h>
#include <botan/x509_key.h>
#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <thread>
#include <vector>

#include "ca/error.hpp"
#include "ca/identity.hpp"
#include "ca/tftp_files.hpp"
#include "capf/tftp/enc_sgn_encryptor.hpp"
#include "capf/tftp/identity_source.hpp"
#include "capf/tftp/itl_encryptor.hpp"
#include "protocol/signed_file.hpp"
#include "tests/capf/tftp/tftp_test_identity.hpp"

// The file's own namespace: the suite is compiled in unity batches, and its
// file-local names must not meet another file's.
namespace tftp_identity_source_test_cases {

namespace fs = std::filesystem;
using namespace capf;
using namespace capf::tftp;

namespace {

using test::identity;
using test::read_file;

storage::Bytes phone_public_key() {
    Botan::AutoSeeded_RNG rng;
    const Botan::RSA_PrivateKey key(rng, 1024);
    const auto der = Botan::X509::BER_encode(key);
    return {der.begin(), der.end()};
}

/// The certificate of the ITL's record with `role`.
Botan::X509_Certificate itl_record(const std::vector<std::uint8_t>& itl, protocol::ItlRole role) {
    const auto parsed = protocol::parse_signed_file(itl);
    for (const auto& record : protocol::parse_itl_records(parsed.payload)) {
        if (record.role == role)
            return Botan::X509_Certificate(record.certificate_der);
    }
    FAIL("no ITL record of role " << static_cast<int>(role));
    throw std::logic_error("unreachable");
}

struct Directories {
    fs::path root;
    fs::path tftp;
    fs::path source;
    Directories() {
        char tmpl[] = "/tmp/capf-tftp-identity-XXXXXX";
        REQUIRE(::mkdtemp(tmpl) != nullptr);
        root = tmpl;
        tftp = root / "tftp";
        source = root / "cnf";
        fs::create_directories(tftp);
        fs::create_directories(source);
    }
    ~Directories() { fs::remove_all(root); }
};

}  // namespace

TEST_CASE("tftp identity: enc-sgn and itl sign with the identity their source holds now") {
    const ca::Identity& a = identity("TFTP-A");
    const ca::Identity& b = identity("TFTP-B");
    const ca::Identity& capf = identity("CAPF-test");
    Directories dirs;
    std::ofstream(dirs.source / "SEP001122334455.cnf.xml")
        << "<device><fullConfig>true</fullConfig><capfAuthMode>0</capfAuthMode></device>";
    storage::DeviceFacts facts;
    facts.name = "SEP001122334455";
    facts.public_key_der = phone_public_key();
    facts.md5_hex = "0123456789abcdef0123456789abcdef";
    facts.key_spec = "rsa-1024";

    const auto source = std::make_shared<IdentitySource>(a);
    EncSgnEncryptorConfig enc_settings;
    enc_settings.source_directory = dirs.source;
    EncSgnEncryptor enc(enc_settings, dirs.tftp, source);
    ItlEncryptor itl(ItlEncryptorConfig{}, dirs.tftp, source, capf.certificate());
    const fs::path sgn = dirs.tftp / "SEP001122334455.cnf.xml.sgn";
    const fs::path enc_sgn = dirs.tftp / "SEP001122334455.cnf.xml.enc.sgn";
    const fs::path itl_file = dirs.tftp / "ITLFile.tlv";

    const auto deliver_and_check = [&](const ca::Identity& signer, const ca::Identity& other) {
        enc.deliver(facts, DeliveryChange::installed, LeaseGuard::unlimited());
        itl.identities_changed();
        for (const auto& file : {sgn, enc_sgn, itl_file}) {
            INFO(file << " signed by " << signer.certificate().subject_dn().to_string());
            CHECK(ca::verify_signed_file(read_file(file), signer.certificate()));
            CHECK_FALSE(ca::verify_signed_file(read_file(file), other.certificate()));
        }
        const auto itl_bytes = read_file(itl_file);
        CHECK(itl_record(itl_bytes, protocol::ItlRole::sast) == signer.certificate());
        CHECK(itl_record(itl_bytes, protocol::ItlRole::tftp) == signer.certificate());
        CHECK(itl_record(itl_bytes, protocol::ItlRole::capf) == capf.certificate());
    };

    deliver_and_check(a, b);
    REQUIRE(source->replace(b));
    deliver_and_check(b, a);
    // The same chain again is no change.
    CHECK_FALSE(source->replace(b));
    CHECK(source->current()->certificate() == b.certificate());
}

TEST_CASE("tftp identity: a non-RSA identity is refused and the one in use stays") {
    const ca::Identity& a = identity("TFTP-A");
    const ca::Identity& ec =
        identity("CAPF-ec", {ca::KeySpec::Algorithm::ec, 256}, ca::IdentityRole::capf);
    IdentitySource source(a);
    const auto before = source.current();
    CHECK_THROWS_AS(source.replace(ec), ca::CaError);
    CHECK(source.current() == before);
    CHECK_THROWS_AS(IdentitySource(ec), ca::CaError);
}

TEST_CASE(
    "tftp identity: an ITL built while the identity is replaced lists the key it is signed by") {
    const ca::Identity& a = identity("TFTP-A");
    const ca::Identity& b = identity("TFTP-B");
    Directories dirs;
    const auto source = std::make_shared<IdentitySource>(a);
    const ItlEncryptor itl(ItlEncryptorConfig{}, dirs.tftp, source,
                           identity("CAPF-test").certificate());

    // One thread swaps A and B as fast as it can; two build ITLs meanwhile.
    std::atomic<bool> stop{false};
    std::atomic<int> swaps{0};
    std::thread swapper([&] {
        for (bool to_b = true; !stop; to_b = !to_b) {
            source->replace(to_b ? b : a);
            ++swaps;
        }
    });
    std::vector<std::vector<std::uint8_t>> built[2];
    std::vector<std::thread> builders;
    for (auto& out : built) {
        builders.emplace_back([&itl, &out] {
            for (int i = 0; i < 100; ++i)
                out.push_back(itl.itl_bytes());
        });
    }
    for (auto& t : builders)
        t.join();
    stop = true;
    swapper.join();

    int signed_by_a = 0;
    int signed_by_b = 0;
    for (const auto& files : built) {
        for (const auto& file : files) {
            const auto sast = itl_record(file, protocol::ItlRole::sast);
            REQUIRE(ca::verify_signed_file(file, sast));
            REQUIRE(itl_record(file, protocol::ItlRole::tftp) == sast);
            (sast == a.certificate() ? signed_by_a : signed_by_b) += 1;
        }
    }
    INFO(swaps << " swaps; " << signed_by_a << " ITLs by A, " << signed_by_b << " by B");
    // The control: the race did happen, both identities signed some.
    CHECK(signed_by_a > 0);
    CHECK(signed_by_b > 0);
}

}  // namespace tftp_identity_source_test_cases

namespace tftp_tvs_records_test_cases {

using namespace capf;
using namespace capf::tftp;
using test::identity;

TEST_CASE("itl: every node's TVS certificate is a record of role TVS, rebuilt when the set changes") {
    const ca::Identity& tftp_signer = identity("TFTP-A");
    const auto tvs = std::make_shared<TvsCertificates>();
    const ItlEncryptor itl(ItlEncryptorConfig{}, std::filesystem::temp_directory_path(),
                           std::make_shared<IdentitySource>(tftp_signer),
                           identity("CAPF-test").certificate(), tvs);
    auto tvs_records = [&itl] {
        std::vector<std::string> subjects;
        for (const auto& entry : itl.entries()) {
            if (entry.role == protocol::ItlRole::tvs)
                subjects.push_back(entry.certificate.subject_dn().get_first_attribute("CN"));
        }
        return subjects;
    };
    CHECK(tvs_records().empty());
    const auto& node_a =
        identity("TVS-node-a", {ca::KeySpec::Algorithm::ec, 256}, ca::IdentityRole::tvs);
    const auto& node_b =
        identity("TVS-node-b", {ca::KeySpec::Algorithm::rsa, 2048}, ca::IdentityRole::tvs);
    CHECK(tvs->replace({node_a.certificate(), node_b.certificate()}));
    CHECK(tvs_records() == std::vector<std::string>{"TVS-node-a", "TVS-node-b"});
    // The same set in another order (the store lists by age) is no change.
    CHECK_FALSE(tvs->replace({node_b.certificate(), node_a.certificate()}));
    CHECK(tvs->replace({node_b.certificate()}));
    CHECK(tvs_records() == std::vector<std::string>{"TVS-node-b"});
    // The bytes verify and carry the record (section 9): read back by the parser.
    const auto list = protocol::parse_trust_list(itl.itl_bytes());
    std::size_t tvs_count = 0;
    for (const auto& record : list.records)
        tvs_count += record.role == protocol::ItlRole::tvs ? 1 : 0;
    CHECK(tvs_count == 1);
}

}  // namespace tftp_tvs_records_test_cases
