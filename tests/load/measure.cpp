#include "tests/load/measure.hpp"

#include <botan/data_src.h>
#include <botan/hmac_drbg.h>
#include <botan/mac.h>
#include <botan/pkcs8.h>
#include <botan/pubkey.h>
#include <botan/pwdhash.h>
#include <botan/system_rng.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <fstream>
#include <sstream>
#include <thread>
#include <vector>

namespace capf::load {
namespace {

double ticks_per_second() {
    static const double ticks = static_cast<double>(::sysconf(_SC_CLK_TCK));
    return ticks;
}

/// utime and stime of /proc/PID/stat, in seconds; fields 14 and 15, counted
/// after the command name, which may itself hold spaces and parentheses.
bool read_cpu(const std::filesystem::path& stat, double& user, double& system) {
    std::ifstream in(stat);
    std::string line;
    if (!std::getline(in, line))
        return false;
    const auto close = line.rfind(')');
    if (close == std::string::npos)
        return false;
    std::istringstream rest(line.substr(close + 2));
    std::string field;
    for (int i = 3; i <= 13; ++i)
        rest >> field;
    unsigned long long utime = 0, stime = 0;
    if (!(rest >> utime >> stime))
        return false;
    user = static_cast<double>(utime) / ticks_per_second();
    system = static_cast<double>(stime) / ticks_per_second();
    return true;
}

std::string command_name(const std::filesystem::path& stat) {
    std::ifstream in(stat);
    std::string line;
    std::getline(in, line);
    const auto open = line.find('(');
    const auto close = line.rfind(')');
    if (open == std::string::npos || close == std::string::npos || close < open)
        return {};
    return line.substr(open + 1, close - open - 1);
}

}  // namespace

std::optional<ProcessSample> sample_process(pid_t pid) {
    const std::filesystem::path dir = "/proc/" + std::to_string(pid);
    ProcessSample s;
    if (!read_cpu(dir / "stat", s.user_seconds, s.system_seconds))
        return std::nullopt;
    std::ifstream status(dir / "status");
    std::string key;
    while (status >> key) {
        double kib = 0;
        if (key == "VmRSS:" && status >> kib)
            s.rss_mib = kib / 1024;
        else if (key == "VmHWM:" && status >> kib)
            s.peak_rss_mib = kib / 1024;
        status.ignore(1 << 20, '\n');
    }
    return s;
}

double postgres_cpu_seconds() {
    double total = 0;
    std::error_code ec;
    for (const auto& entry : std::filesystem::directory_iterator("/proc", ec)) {
        const auto name = entry.path().filename().string();
        if (name.empty() || !std::all_of(name.begin(), name.end(), ::isdigit))
            continue;
        if (command_name(entry.path() / "stat") != "postgres")
            continue;
        double user = 0, system = 0;
        if (read_cpu(entry.path() / "stat", user, system))
            total += user + system;
    }
    return total;
}

double own_cpu_seconds() {
    rusage u{};
    ::getrusage(RUSAGE_SELF, &u);
    const auto seconds = [](const timeval& t) {
        return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6;
    };
    return seconds(u.ru_utime) + seconds(u.ru_stime);
}

SigningRate measure_signing(const std::filesystem::path& pem_path, double seconds) {
    // The generator capfd signs with (ca::thread_rng()), so that the bound
    // does not pay for a system call per signature that capfd does not.
    Botan::HMAC_DRBG rng(Botan::MessageAuthenticationCode::create_or_throw("HMAC(SHA-256)"),
                         Botan::system_rng());
    Botan::DataSource_Stream source(pem_path.string());
    const auto key = Botan::PKCS8::load_key(source);
    const bool rsa = key->algo_name() == "RSA";
    Botan::PK_Signer signer(*key, rng, rsa ? "EMSA3(SHA-256)" : "EMSA1(SHA-256)");
    std::vector<std::uint8_t> message(32);
    rng.randomize(message.data(), message.size());
    signer.sign_message(message, rng);  // the signer's set-up is not counted
    using Clock = std::chrono::steady_clock;
    const double cpu_start = own_cpu_seconds();
    const auto start = Clock::now();
    const auto until = start + std::chrono::duration<double>(seconds);
    std::size_t count = 0;
    auto now = start;
    do {
        message[0] = static_cast<std::uint8_t>(count);
        signer.sign_message(message, rng);
        ++count;
        now = Clock::now();
    } while (now < until);
    const double cpu = own_cpu_seconds() - cpu_start;
    SigningRate out;
    out.algorithm = key->algo_name() + "-" + std::to_string(key->key_length());
    out.signatures_per_second =
        static_cast<double>(count) / std::chrono::duration<double>(now - start).count();
    out.signatures_per_cpu_second = static_cast<double>(count) / cpu;
    return out;
}

double measure_pbkdf2(unsigned threads, double seconds, unsigned iterations) {
    using Clock = std::chrono::steady_clock;
    const auto start = Clock::now();
    const auto until = start + std::chrono::duration<double>(seconds);
    std::atomic<std::uint64_t> hashes{0};
    auto work = [&] {
        const auto family = Botan::PasswordHashFamily::create_or_throw("PBKDF2(SHA-256)");
        const auto hash = family->from_iterations(iterations);
        std::vector<std::uint8_t> out(32), salt(16, 0x5a);
        const std::string secret = "482916";
        do {
            hash->derive_key(out.data(), out.size(), secret.data(), secret.size(), salt.data(),
                             salt.size());
            ++hashes;
        } while (Clock::now() < until);
    };
    std::vector<std::thread> pool;
    for (unsigned t = 0; t < std::max(1u, threads); ++t)
        pool.emplace_back(work);
    for (auto& t : pool)
        t.join();
    const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
    return static_cast<double>(hashes.load()) * iterations / elapsed;
}

double percentile(std::vector<double> values, double p) {
    if (values.empty())
        return 0;
    std::sort(values.begin(), values.end());
    const auto rank =
        static_cast<std::size_t>(std::ceil(p / 100.0 * static_cast<double>(values.size())));
    return values[std::min(values.size(), std::max<std::size_t>(rank, 1)) - 1];
}

}  // namespace capf::load
