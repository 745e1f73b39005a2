// capf-load --tvs: verifies against a Trust Verification Service port
// (protocol/README.md, section 11), each connection one request as phones
// send it (or --requests-per-connection), from one thread; the figures
// beside the bound of one private-key operation with the TVS key per TLS
// handshake, measured in the same run. tests/load/README.md has the fields.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <string>

namespace capf::load {

struct TvsLoadOptions {
    std::string host = "127.0.0.1";
    std::uint16_t port = 2445;
    std::string cert;  ///< the certificate every request asks about (PEM or DER)
    std::string device = "CP-8845-SEP001122AABBCC";
    std::string pinned_cert;  ///< the TVS certificate (PEM); empty accepts any
    std::string tls = "tls12";
    std::size_t connections = 16;  ///< at once
    std::size_t count = 1000;      ///< verifies, when `seconds` is 0
    double seconds = 0;            ///< stop opening connections after this long
    std::size_t requests_per_connection = 1;
    pid_t capfd_pid = 0;    ///< CPU and memory from /proc when set
    std::string bound_key;  ///< the TVS private key (PKCS#8 PEM), for the bound
    double bound_seconds = 1.0;
    double timeout = 30;  ///< seconds a connection may take
    std::size_t per_source = 16;
    bool quiet = false;
};

/// Runs the load and prints one JSON object on stdout (progress on stderr).
/// Returns 0 when every verify got a well-formed answer echoing its session
/// id, 1 otherwise. Throws std::runtime_error on a bad option or file.
int run_tvs_load(const TvsLoadOptions& options);

}  // namespace capf::load
