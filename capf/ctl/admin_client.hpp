// The client side of the admin socket, for capfctl and tests: one blocking
// JSON-RPC call at a time over a Unix socket.
#pragma once

#include <chrono>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>

namespace capf {

/// A call that did not produce a result. `rpc_code` is the JSON-RPC error
/// code when the server answered with an error, 0 when the call failed on
/// the way (no socket, timeout, garbled reply).
class AdminCallError : public std::runtime_error {
  public:
    AdminCallError(int rpc_code, const std::string& message)
        : std::runtime_error(message), rpc_code_(rpc_code) {}
    int rpc_code() const noexcept { return rpc_code_; }

  private:
    int rpc_code_;
};

class AdminClient {
  public:
    /// Connects; throws AdminCallError saying why and which path when it cannot.
    /// `read_only`: every request asks to be served with the read-only role
    /// whatever the caller's uid may do (jsonrpc::role_member).
    AdminClient(const std::filesystem::path& socket_path, std::chrono::milliseconds timeout,
                bool read_only = false);
    ~AdminClient();
    AdminClient(const AdminClient&) = delete;
    AdminClient& operator=(const AdminClient&) = delete;

    /// Sends one request and returns its "result"; throws AdminCallError
    /// with the server's message for an error response.
    nlohmann::json call(const std::string& method,
                        const nlohmann::json& params = nlohmann::json::object());

    /// Sends raw bytes and returns the next reply line (for tests of the
    /// server's handling of malformed input).
    std::string raw_exchange(const std::string& bytes);

  private:
    std::string read_line();

    int fd_ = -1;
    std::filesystem::path path_;
    std::string pending_;
    long next_id_ = 1;
    bool read_only_ = false;
};

}  // namespace capf
