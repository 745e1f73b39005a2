// The `exec` encryptor and the program runner under it (issue 12,
// acceptance 4): the facts as JSON on stdin, no shell, a minimal
// environment, bounded output, and a deadline that leaves nothing running.
#include <botan/pem.h>
#include <botan/x509cert.h>
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "capf/tftp/exec_encryptor.hpp"
#include "capf/tftp/exec_runner.hpp"

// The file's own namespace: the suite is compiled in unity batches, and its
// file-local names must not meet another file's.
namespace tftp_exec_test_cases {

using namespace capf::tftp;
using namespace std::chrono_literals;
namespace fs = std::filesystem;
namespace storage = capf::storage;

namespace {

const std::string scripts_dir = CAPF_SOURCE_DIR "/tests/capf/tftp/exec";

std::string script(const std::string& name) {
    return scripts_dir + "/" + name;
}

/// A fresh directory under /tmp, removed with the object.
struct TempDir {
    fs::path path;
    TempDir() {
        char tmpl[] = "/tmp/capf-exec-XXXXXX";
        REQUIRE(::mkdtemp(tmpl) != nullptr);
        path = tmpl;
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    ~TempDir() { fs::remove_all(path); }
    std::string file(const std::string& name) const { return (path / name).string(); }
};

std::string read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    REQUIRE(in.good());
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::vector<std::string> lines_of(const std::string& text) {
    std::vector<std::string> lines;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) {
        lines.push_back(line);
    }
    return lines;
}

storage::Bytes sample_certificate_der() {
    const std::string bytes = read_file(CAPF_SOURCE_DIR "/tests/data/lsc-sample.der");
    return {bytes.begin(), bytes.end()};
}

DeviceFacts facts_with_certificate() {
    DeviceFacts facts;
    facts.name = "SEP001122334455";
    facts.certificate_der = sample_certificate_der();
    const Botan::X509_Certificate certificate(*facts.certificate_der);
    facts.public_key_der = certificate.subject_public_key_bits();
    facts.md5_hex = "0123456789abcdef0123456789abcdef";
    facts.key_spec = "rsa-2048";
    return facts;
}

/// "State" field of /proc/PID/stat, or 0 when there is no such process.
char process_state(pid_t pid) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
    std::string stat;
    if (!std::getline(in, stat)) {
        return 0;
    }
    const auto after_name = stat.rfind(')');
    return after_name + 2 < stat.size() ? stat[after_name + 2] : 0;
}

/// The process has ended: gone, or a zombie someone else (init) must reap.
/// Waits up to 1 s for a process already killed to finish dying.
bool process_ended(pid_t pid) {
    const auto give_up = std::chrono::steady_clock::now() + 1s;
    while (std::chrono::steady_clock::now() < give_up) {
        const char state = process_state(pid);
        if (state == 0 || state == 'Z' || state == 'X') {
            return true;
        }
        std::this_thread::sleep_for(10ms);
    }
    return false;
}

/// Children of this test process, zombies included (not reaped = left).
std::vector<pid_t> children_of_this_process() {
    std::vector<pid_t> children;
    for (const auto& entry : fs::directory_iterator("/proc")) {
        const std::string name = entry.path().filename().string();
        if (name.find_first_not_of("0123456789") != std::string::npos) {
            continue;
        }
        std::ifstream in(entry.path() / "stat");
        std::string stat;
        if (!std::getline(in, stat)) {
            continue;
        }
        std::istringstream fields(stat.substr(stat.rfind(')') + 2));
        char state = 0;
        pid_t parent = 0;
        fields >> state >> parent;
        if (parent == ::getpid()) {
            children.push_back(std::stoi(name));
        }
    }
    return children;
}

std::vector<pid_t> pids_in(const std::string& path) {
    std::vector<pid_t> pids;
    for (const std::string& line : lines_of(read_file(path))) {
        pids.push_back(std::stoi(line));
    }
    return pids;
}

std::chrono::milliseconds elapsed_since(std::chrono::steady_clock::time_point start) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                                 start);
}

std::string delivery_error(ExecEncryptor& encryptor, const DeviceFacts& facts) {
    try {
        encryptor.deliver(facts, DeliveryChange::installed, LeaseGuard::unlimited());
    } catch (const EncryptorError& e) {
        return e.what();
    }
    FAIL("deliver() did not throw EncryptorError");
    return {};
}

}  // namespace

TEST_CASE("exec: the program receives the facts as JSON for installed, fetched and deleted",
          "[exec]") {
    const TempDir dir;
    const std::string recorded = dir.file("stdin.json");
    ExecEncryptor encryptor({{script("record_stdin.sh"), recorded}, 10s});
    CHECK(encryptor.name() == "exec");

    const DeviceFacts with_certificate = facts_with_certificate();
    for (const DeliveryChange change : {DeliveryChange::installed, DeliveryChange::fetched}) {
        INFO("change " << storage::to_text(change));
        fs::remove(recorded);
        encryptor.deliver(with_certificate, change, LeaseGuard::unlimited());
        const auto json = nlohmann::json::parse(read_file(recorded));
        CHECK(json.size() == 8);
        CHECK(json.at("device") == "SEP001122334455");
        CHECK(json.at("event") == "changed");
        CHECK(json.at("reason") == nullptr);
        CHECK(json.at("change") == std::string(storage::to_text(change)));
        CHECK(json.at("md5") == "0123456789abcdef0123456789abcdef");
        CHECK(json.at("key_spec") == "rsa-2048");
        const std::string certificate_pem = json.at("certificate_pem");
        const std::string public_key_pem = json.at("public_key_pem");
        CHECK(certificate_pem.starts_with("-----BEGIN CERTIFICATE-----\n"));
        CHECK(public_key_pem.starts_with("-----BEGIN PUBLIC KEY-----\n"));
        const auto certificate_der =
            Botan::PEM_Code::decode_check_label(certificate_pem, "CERTIFICATE");
        const auto public_key_der =
            Botan::PEM_Code::decode_check_label(public_key_pem, "PUBLIC KEY");
        CHECK(storage::Bytes(certificate_der.begin(), certificate_der.end()) ==
              *with_certificate.certificate_der);
        CHECK(storage::Bytes(public_key_der.begin(), public_key_der.end()) ==
              *with_certificate.public_key_der);
    }

    DeviceFacts deleted;
    deleted.name = "SEP001122334455";
    fs::remove(recorded);
    encryptor.deliver(deleted, DeliveryChange::deleted, LeaseGuard::unlimited());
    const auto json = nlohmann::json::parse(read_file(recorded));
    CHECK(json == nlohmann::json{{"device", "SEP001122334455"},
                                 {"event", "changed"},
                                 {"reason", nullptr},
                                 {"change", "deleted"},
                                 {"md5", ""},
                                 {"key_spec", ""},
                                 {"certificate_pem", nullptr},
                                 {"public_key_pem", nullptr}});
}

TEST_CASE("exec: a revoked LSC and a removed device are withdrawn events, with the reason",
          "[exec]") {
    const TempDir dir;
    const std::string recorded = dir.file("stdin.json");
    ExecEncryptor encryptor({{script("record_stdin.sh"), recorded}, 10s});
    DeviceFacts revoked;  // the facts leave a revoked certificate out
    revoked.name = "SEP001122334455";
    revoked.key_spec = "rsa-2048";
    DeviceFacts removed;
    removed.name = "SEP001122334455";
    removed.removed = true;
    struct Case {
        const DeviceFacts& facts;
        DeliveryChange change;
        const char* reason;
    };
    for (const Case& c : {Case{revoked, DeliveryChange::revoked, "revoked"},
                          Case{removed, DeliveryChange::removed, "removed"},
                          Case{removed, DeliveryChange::requested, "removed"}}) {
        INFO(c.reason << " after " << storage::to_text(c.change));
        fs::remove(recorded);
        encryptor.deliver(c.facts, c.change, LeaseGuard::unlimited());
        const auto json = nlohmann::json::parse(read_file(recorded));
        CHECK(json.at("event") == "withdrawn");
        CHECK(json.at("reason") == c.reason);
        CHECK(json.at("change") == std::string(storage::to_text(c.change)));
        CHECK(json.at("certificate_pem") == nullptr);
        CHECK(json.at("public_key_pem") == nullptr);
    }
    // A revoked change after which the device has a key again (a new LSC
    // came first in the batch) is an ordinary change.
    fs::remove(recorded);
    encryptor.deliver(facts_with_certificate(), DeliveryChange::revoked, LeaseGuard::unlimited());
    CHECK(nlohmann::json::parse(read_file(recorded)).at("event") == "changed");
}

TEST_CASE(
    "exec: argv elements with semicolons, $(...) and backquotes reach the program literally (no shell)",
    "[exec]") {
    const TempDir dir;
    const std::string marker = dir.file("marker");
    const std::vector<std::string> hostile = {"a; touch " + marker, "$(touch " + marker + ")",
                                              "`touch " + marker + "`", "*"};

    std::vector<std::string> argv = {script("record_stdin.sh"), dir.file("stdin.json")};
    argv.insert(argv.end(), hostile.begin(), hostile.end());
    ExecEncryptor encryptor({argv, 10s});
    encryptor.deliver(facts_with_certificate(), DeliveryChange::installed, LeaseGuard::unlimited());
    CHECK(lines_of(read_file(dir.file("stdin.json.args"))) == hostile);

    ProgramRun run;
    run.argv = {"/usr/bin/printf", "%s\\n"};
    run.argv.insert(run.argv.end(), hostile.begin(), hostile.end());
    const ProgramResult result = run_program(run);
    CHECK(result.exit_code == 0);
    CHECK(lines_of(result.output_excerpt) == hostile);
    CHECK_FALSE(fs::exists(marker));
}

TEST_CASE("exec: the program's environment is only the given variables", "[exec]") {
    REQUIRE(::setenv("CAPF_EXEC_TEST_INHERITED", "must-not-reach-the-program", 1) == 0);
    ProgramRun run;
    run.argv = {"/usr/bin/env"};
    ProgramResult result = run_program(run);
    CHECK(result.exit_code == 0);
    CHECK(result.output_excerpt == "PATH=/usr/bin:/bin\nLANG=C\n");

    run.environment = {"ONLY=this"};
    result = run_program(run);
    CHECK(result.output_excerpt == "ONLY=this\n");
    ::unsetenv("CAPF_EXEC_TEST_INHERITED");
}

TEST_CASE("exec: a hanging program is killed at its timeout and leaves no process behind",
          "[exec]") {
    const TempDir dir;
    ProgramRun run;
    run.argv = {script("hang.sh"), dir.file("pids")};
    run.timeout = 300ms;
    const auto start = std::chrono::steady_clock::now();
    const ProgramResult result = run_program(run);
    const auto took = elapsed_since(start);

    CHECK(result.timed_out);
    CHECK(result.signal == SIGTERM);
    CHECK(took >= 300ms);
    CHECK(took < 2s);
    const std::vector<pid_t> pids = pids_in(dir.file("pids"));
    REQUIRE(pids.size() == 2);
    CHECK(process_ended(pids[0]));
    CHECK(process_ended(pids[1]));  // the background child in its group too
    CHECK(children_of_this_process().empty());

    ExecEncryptor encryptor({{"/bin/sleep", "1000"}, 300ms});
    const auto encryptor_start = std::chrono::steady_clock::now();
    const std::string error = delivery_error(encryptor, facts_with_certificate());
    CHECK(elapsed_since(encryptor_start) < 2s);
    CHECK_THAT(error, Catch::Contains("'/bin/sleep'") && Catch::Contains("timed out after 0.3s"));
    CHECK(children_of_this_process().empty());
}

TEST_CASE("exec: a program that exits 3 fails the delivery with its status and output", "[exec]") {
    ExecEncryptor encryptor({{script("fail.sh")}, 10s});
    const std::string error = delivery_error(encryptor, facts_with_certificate());
    CHECK_THAT(error, Catch::Contains("fail.sh") && Catch::Contains("exited with status 3") &&
                          Catch::Contains("tftp upload refused") &&
                          Catch::Contains("server said: disk full"));
    CHECK_THAT(error, Catch::Contains("SEP001122334455"));

    ProgramRun run;
    run.argv = {script("fail.sh")};
    const ProgramResult result = run_program(run);
    CHECK(result.exit_code == 3);
    CHECK_FALSE(result.timed_out);
    CHECK(result.signal == 0);
}

TEST_CASE("exec: a missing program fails with an error naming its path", "[exec]") {
    const std::string missing = "/nonexistent/capf-exec-program";
    ProgramRun run;
    run.argv = {missing};
    CHECK_THROWS_WITH(run_program(run),
                      Catch::Contains(missing) && Catch::Contains("No such file or directory"));

    ExecEncryptor encryptor({{missing}, 10s});
    CHECK_THAT(delivery_error(encryptor, facts_with_certificate()), Catch::Contains(missing));

    run.argv = {CAPF_SOURCE_DIR "/tests/data/lsc-sample.der"};  // exists, not executable
    CHECK_THROWS_WITH(run_program(run),
                      Catch::Contains("lsc-sample.der") && Catch::Contains("Permission denied"));
    CHECK_THROWS_AS(ExecEncryptor({{}, 10s}), EncryptorError);
}

TEST_CASE("exec: output beyond 4 KiB is drained without blocking the program", "[exec]") {
    const std::vector<std::string> one_mebibyte = {"/usr/bin/head", "-c", "1048576",
                                                   "/dev/urandom"};
    ProgramRun run;
    run.argv = one_mebibyte;
    run.timeout = 20s;
    const auto start = std::chrono::steady_clock::now();
    const ProgramResult result = run_program(run);
    CHECK(elapsed_since(start) < 10s);
    CHECK_FALSE(result.timed_out);
    CHECK(result.exit_code == 0);
    CHECK(result.output_excerpt.size() == program_output_excerpt_limit);

    ExecEncryptor encryptor({one_mebibyte, 20s});
    CHECK_NOTHROW(encryptor.deliver(facts_with_certificate(), DeliveryChange::installed,
                                    LeaseGuard::unlimited()));
}

TEST_CASE("exec: a program ignoring SIGTERM is SIGKILLed after the grace", "[exec]") {
    const TempDir dir;
    ProgramRun run;
    run.argv = {script("ignore_term.sh"), dir.file("pids")};
    run.timeout = 300ms;
    const auto start = std::chrono::steady_clock::now();
    const ProgramResult result = run_program(run);
    const auto took = elapsed_since(start);

    CHECK(result.timed_out);
    CHECK(result.signal == SIGKILL);
    CHECK(took >= 300ms + program_termination_grace - 50ms);
    CHECK(took < 3s);
    const std::vector<pid_t> pids = pids_in(dir.file("pids"));
    REQUIRE(pids.size() == 2);
    CHECK(process_ended(pids[0]));
    CHECK(process_ended(pids[1]));
    CHECK(children_of_this_process().empty());
}

TEST_CASE("exec: what a program leaves running in its group is ended when it exits", "[exec]") {
    ProgramRun run;
    run.argv = {"/bin/sh", "-c", "/bin/sleep 1000 & echo $!; exit 0"};
    run.timeout = 10s;
    const auto start = std::chrono::steady_clock::now();
    const ProgramResult result = run_program(run);
    CHECK(elapsed_since(start) < 2s);  // not held until the timeout by the sleep's stdout
    CHECK_FALSE(result.timed_out);
    CHECK(result.exit_code == 0);
    const std::vector<std::string> lines = lines_of(result.output_excerpt);
    REQUIRE(lines.size() == 1);
    CHECK(process_ended(std::stoi(lines[0])));
}

TEST_CASE("exec: no descriptor of the caller reaches the program", "[exec]") {
    const int inheritable = ::open("/dev/null", O_RDONLY);  // no O_CLOEXEC on purpose
    REQUIRE(inheritable >= 0);
    REQUIRE(::dup2(inheritable, 100) == 100);
    ProgramRun run;
    run.argv = {"/bin/ls", "/proc/self/fd/100"};
    const ProgramResult result = run_program(run);
    ::close(100);
    ::close(inheritable);
    CHECK(result.exit_code != 0);  // ls: cannot access '/proc/self/fd/100'
    CHECK_THAT(result.output_excerpt, Catch::Contains("No such file or directory"));
}

TEST_CASE("exec: a program that does not read its stdin raises no SIGPIPE in the caller",
          "[exec]") {
    ProgramRun run;
    // Closes its stdin at once, then lives on while the caller still writes.
    run.argv = {"/bin/sh", "-c", "exec 0<&-; /bin/sleep 0.2"};
    run.stdin_data.assign(1 << 20, 'x');  // far more than a pipe holds
    // The default action, as in capfd: ctest may start this with SIGPIPE ignored.
    const auto previous = ::signal(SIGPIPE, SIG_DFL);
    const ProgramResult result = run_program(run);  // a SIGPIPE would end this process
    ::signal(SIGPIPE, previous);
    CHECK(result.exit_code == 0);
    sigset_t pending;
    sigpending(&pending);
    CHECK(sigismember(&pending, SIGPIPE) == 0);
}

TEST_CASE("lease guard: acts in the first three quarters of the lease, never after", "[lease]") {
    const auto now = LeaseGuard::Clock::now();
    const LeaseGuard fresh(now, 8s);  // acts until now + 6 s
    CHECK(fresh.allows(0ms));
    CHECK(fresh.allows(5s));
    CHECK_FALSE(fresh.allows(7s));
    CHECK(fresh.remaining() <= 6s);
    CHECK(fresh.remaining() > 5s);
    const LeaseGuard old(now - 7s, 8s);  // past 6 s of its 8
    CHECK_FALSE(old.allows(0ms));
    CHECK(old.remaining() == 0ms);
    try {
        old.require(0ms, "replacing /srv/tftp/SEP001122334455.cnf.xml.sgn");
        FAIL("require() did not throw");
    } catch (const EncryptorError& e) {
        CHECK(e.code() == EncryptorErrc::lease_running_out);
        CHECK_THAT(e.what(), Catch::Contains("replacing /srv/tftp/SEP001122334455.cnf.xml.sgn"));
    }
    CHECK(LeaseGuard::unlimited().allows(std::chrono::hours(24 * 365)));
}

TEST_CASE("exec: a program whose timeout would outlast the lease is not started", "[exec]") {
    const TempDir dir;
    const std::string recorded = dir.file("stdin.json");
    ExecEncryptor encryptor({{script("record_stdin.sh"), recorded}, 10s});
    // 20 s of lease, 3 s gone: 12 s left to act in, 10 s + the kill grace fit.
    const LeaseGuard roomy(LeaseGuard::Clock::now() - 3s, 20s);
    encryptor.deliver(facts_with_certificate(), DeliveryChange::installed, roomy);
    CHECK(fs::exists(recorded));
    fs::remove(recorded);
    // 8 s gone: 7 s left, less than the 10 s timeout and its grace.
    const LeaseGuard short_of_time(LeaseGuard::Clock::now() - 8s, 20s);
    try {
        encryptor.deliver(facts_with_certificate(), DeliveryChange::installed, short_of_time);
        FAIL("deliver() ran the program");
    } catch (const EncryptorError& e) {
        CHECK(e.code() == EncryptorErrc::lease_running_out);
        CHECK_THAT(e.what(),
                   Catch::Contains("record_stdin.sh") && Catch::Contains("SEP001122334455"));
    }
    CHECK_FALSE(fs::exists(recorded));
    CHECK(children_of_this_process().empty());
}

}  // namespace tftp_exec_test_cases
