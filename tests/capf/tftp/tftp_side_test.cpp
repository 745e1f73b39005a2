// SIGHUP reloads the TFTP identity (issue 32, item 5): TftpSide::reload()
// loads tftp.identity again with the checks of the start. A new identity
// signs the rebuilt ITL; files that cannot be loaded leave the identity in
// use, with a warning naming the file.
#include "capf/tftp/tftp_side.hpp"

#include <botan/hex.h>
#include <sys/stat.h>
#include <unistd.h>

#include <asio/co_spawn.hpp>
#include <asio/io_context.hpp>
#include <asio/use_future.hpp>
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "ca/identity.hpp"
#include "ca/tftp_files.hpp"
#include "capf/common/blocking_pool.hpp"
#include "capf/common/config.hpp"
#include "capf/common/log.hpp"
#include "protocol/signed_file.hpp"
#include "tests/capf/tftp/tftp_test_identity.hpp"
#include "tests/storage/pg_test_support.hpp"

// The file's own namespace: the suite is compiled in unity batches, and its
// file-local names must not meet another file's.
namespace tftp_side_test_cases {

namespace fs = std::filesystem;
using namespace capf;

namespace {

using test::identity;
using test::read_file;

Botan::X509_Certificate sast_of(const std::vector<std::uint8_t>& itl) {
    for (const auto& record : protocol::parse_trust_list(itl).records) {
        if (record.role == protocol::ItlRole::sast)
            return Botan::X509_Certificate(record.certificate_der);
    }
    FAIL("no SAST record in the ITL");
    throw std::logic_error("unreachable");
}

/// Log lines written while it lives.
class CapturedLog {
  public:
    CapturedLog() {
        log::set_sink([this](std::string_view line) {
            const std::lock_guard lock(mutex_);
            lines_.emplace_back(line);
        });
    }
    ~CapturedLog() { log::set_sink({}); }
    void clear() {
        const std::lock_guard lock(mutex_);
        lines_.clear();
    }
    /// The lines of `event`, then forgets every line.
    std::vector<std::string> take(const std::string& event) {
        const std::lock_guard lock(mutex_);
        std::vector<std::string> out;
        for (const auto& line : lines_) {
            if (line.find("event=" + event + " ") != std::string::npos)
                out.push_back(line);
        }
        lines_.clear();
        return out;
    }

  private:
    std::mutex mutex_;
    std::vector<std::string> lines_;
};

void run(asio::io_context& io, asio::awaitable<void> work) {
    auto done = asio::co_spawn(io, std::move(work), asio::use_future);
    io.restart();
    io.run();
    done.get();
}

}  // namespace

TEST_CASE(
    "tftp side: SIGHUP's reload signs the ITL with a new TFTP identity, keeps it on bad files") {
    test::TestDatabase db;
    char tmpl[] = "/tmp/capf-tftp-side-XXXXXX";
    REQUIRE(::mkdtemp(tmpl) != nullptr);
    const fs::path dir = tmpl;
    const fs::path crt = dir / "tftp.crt";
    const fs::path key = dir / "tftp.key";
    const fs::path itl = dir / "tftp" / "ITLFile.tlv";
    fs::create_directories(dir / "tftp");
    const ca::Identity& a = identity("TFTP-A");
    const ca::Identity& b = identity("TFTP-B");
    ca::write_identity(a, crt, key);
    const Config config =
        parse_config(R"({"tftp": {"identity": {"certificate": ")" + crt.string() +
                     R"(", "private_key": ")" + key.string() + R"("}, "directory": ")" +
                     (dir / "tftp").string() + R"(", "encryptors": [{"type": "itl"}]}})");
    BlockingPool pool(2);
    asio::io_context io;
    CapturedLog captured;
    tftp::TftpSide side(config, identity("CAPF-test"), *db.pool, pool);
    run(io, side.identities_changed());
    REQUIRE(ca::verify_signed_file(read_file(itl), a.certificate()));

    // B's files in place of A's: the ITL is rebuilt, signed by B and listing it.
    ca::write_identity(b, crt, key);
    captured.clear();
    run(io, side.reload());
    const auto rebuilt = read_file(itl);
    CHECK(ca::verify_signed_file(rebuilt, b.certificate()));
    CHECK_FALSE(ca::verify_signed_file(rebuilt, a.certificate()));
    CHECK(sast_of(rebuilt) == b.certificate());
    CHECK(ca::verify_signed_file(side.build_itl().first, b.certificate()));
    const auto reloaded = captured.take("tftp_identity_reloaded");
    REQUIRE(reloaded.size() == 1);
    CHECK_THAT(reloaded[0], Catch::Contains("subject=\"CN=TFTP-B\""));
    CHECK_THAT(
        reloaded[0],
        Catch::Contains("serial=" + Botan::hex_encode(b.certificate().serial_number(), false)));

    // Unchanged files: no replacement, nothing logged as reloaded.
    run(io, side.reload());
    CHECK(captured.take("tftp_identity_reloaded").empty());

    // Each broken state of the files keeps B, with a warning naming the file.
    const ca::Identity& c = identity("TFTP-C");
    const ca::Identity& ec =
        identity("CAPF-ec", {ca::KeySpec::Algorithm::ec, 256}, ca::IdentityRole::capf);
    struct Broken {
        const char* what;
        std::function<void()> make;
        fs::path named;
        const char* reason;
    };
    const std::vector<Broken> cases = {
        {"key missing", [&] { fs::remove(key); }, key, ""},
        {"key readable by others",
         [&] {
             ca::write_identity(c, crt, key);
             REQUIRE(::chmod(key.c_str(), 0644) == 0);
         },
         key, "chmod 600"},
        {"not RSA", [&] { ca::write_identity(ec, crt, key); }, crt, "RSA only"},
        {"certificate and key of different identities (a copy half done)",
         [&] {
             ca::write_identity(c, crt, key);
             ca::write_identity(b, dir / "b.crt", key);
         },
         key, ""},
    };
    for (const auto& broken : cases) {
        INFO(broken.what);
        broken.make();
        captured.clear();
        run(io, side.reload());
        const auto warnings = captured.take("tftp_identity_reload_failed");
        REQUIRE(warnings.size() == 1);
        CHECK_THAT(warnings[0], Catch::Contains("level=warn"));
        CHECK_THAT(warnings[0], Catch::Contains(broken.named.string()));
        CHECK_THAT(warnings[0], Catch::Contains(broken.reason));
        CHECK_THAT(warnings[0], Catch::Contains("kept=\"CN=TFTP-B\""));
        const auto kept = read_file(itl);
        CHECK(ca::verify_signed_file(kept, b.certificate()));
        CHECK(sast_of(kept) == b.certificate());
    }
    fs::remove_all(dir);
}

}  // namespace tftp_side_test_cases
