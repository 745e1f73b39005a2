// What capf-load measures beside the sessions: the CPU time and memory of
// capfd (and of PostgreSQL) from /proc, the crypto bound with the server's
// own keys, and latency percentiles.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace capf::load {

/// One reading of a process from /proc/PID/stat and /proc/PID/status.
struct ProcessSample {
    double user_seconds = 0;
    double system_seconds = 0;
    double rss_mib = 0;
    double peak_rss_mib = 0;  ///< VmHWM: the highest resident size so far
    double cpu_seconds() const noexcept { return user_seconds + system_seconds; }
};

/// Nothing when the process is gone.
std::optional<ProcessSample> sample_process(pid_t pid);

/// CPU seconds of every process named "postgres" (the cluster of the run:
/// the load tests run one). Backends that exit in between are not counted.
double postgres_cpu_seconds();

/// Own CPU seconds (user + system) of this process.
double own_cpu_seconds();

/// Private-key signatures with the key in `pem_path` (PKCS#8, unencrypted)
/// from one calling thread, one signer reused as `botan speed` does:
/// EMSA3(SHA-256) for RSA, ECDSA with SHA-256 otherwise. Botan 2.19 computes
/// one half of an RSA CRT signature on its own thread pool, so the wall
/// clock rate uses more than one core: per CPU-second is the bound for
/// figures per CPU-second.
struct SigningRate {
    std::string algorithm;  ///< "RSA-2048", "ECDSA-256"
    double signatures_per_second = 0;
    double signatures_per_cpu_second = 0;  ///< this process's CPU, all threads
};
SigningRate measure_signing(const std::filesystem::path& pem_path, double seconds);

/// PBKDF2(SHA-256) iterations per second (wall clock) with `threads`
/// threads hashing at once for `seconds`, each hash of `iterations`: the
/// bound of a bulk auth-string generation, measured as that runs (every
/// core busy for seconds, not a burst that a machine whose cores slow under
/// sustained load outruns).
double measure_pbkdf2(unsigned threads, double seconds, unsigned iterations);

/// p-th percentile (0-100) by nearest rank; 0 for no values.
double percentile(std::vector<double> values, double p);

}  // namespace capf::load
