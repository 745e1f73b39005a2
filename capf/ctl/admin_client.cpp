#include "capf/ctl/admin_client.hpp"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace capf {

AdminClient::AdminClient(const std::filesystem::path& socket_path,
                         std::chrono::milliseconds timeout, bool read_only)
    : path_(socket_path), read_only_(read_only) {
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    const std::string p = socket_path.string();
    if (p.size() >= sizeof addr.sun_path) {
        throw AdminCallError(0, "admin socket path too long: " + p);
    }
    std::memcpy(addr.sun_path, p.c_str(), p.size() + 1);
    fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd_ < 0) {
        throw AdminCallError(0, std::string("cannot create a socket: ") + std::strerror(errno));
    }
    timeval tv{};
    tv.tv_sec = static_cast<time_t>(timeout.count() / 1000);
    tv.tv_usec = static_cast<suseconds_t>((timeout.count() % 1000) * 1000);
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ::setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    if (::connect(fd_, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
        const int err = errno;
        ::close(fd_);
        fd_ = -1;
        std::string hint;
        if (err == ENOENT || err == ECONNREFUSED) {
            hint = " (is capfd running? use --socket to name another path)";
        } else if (err == EACCES) {
            hint =
                " (your user may not use it: ask to be put in admin.allowed_group, or in "
                "admin.readonly_groups for the read methods only)";
        }
        throw AdminCallError(0, "cannot connect to " + p + ": " + std::strerror(err) + hint);
    }
}

AdminClient::~AdminClient() {
    if (fd_ >= 0) {
        ::close(fd_);
    }
}

std::string AdminClient::read_line() {
    for (;;) {
        const auto nl = pending_.find('\n');
        if (nl != std::string::npos) {
            std::string line = pending_.substr(0, nl);
            pending_.erase(0, nl + 1);
            return line;
        }
        char buf[65536];
        const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
        if (n == 0) {
            throw AdminCallError(0, "capfd closed the admin connection without an answer");
        }
        if (n < 0) {
            if (errno == EINTR)
                continue;
            throw AdminCallError(0,
                                 errno == EAGAIN || errno == EWOULDBLOCK
                                     ? std::string("no answer from capfd within the timeout")
                                     : std::string("reading from capfd: ") + std::strerror(errno));
        }
        pending_.append(buf, static_cast<std::size_t>(n));
    }
}

std::string AdminClient::raw_exchange(const std::string& bytes) {
    std::size_t sent = 0;
    while (sent < bytes.size()) {
        const ssize_t n = ::send(fd_, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            // The server may already have answered (e.g. refused us) and closed.
            break;
        }
        sent += static_cast<std::size_t>(n);
    }
    return read_line();
}

nlohmann::json AdminClient::call(const std::string& method, const nlohmann::json& params) {
    nlohmann::json request = {
        {"jsonrpc", "2.0"}, {"id", next_id_++}, {"method", method}, {"params", params}};
    if (read_only_)
        request["capf_role"] = "read-only";  // the server's jsonrpc::role_member
    const std::string line = raw_exchange(request.dump() + "\n");
    nlohmann::json response;
    try {
        response = nlohmann::json::parse(line);
    } catch (const nlohmann::json::parse_error&) {
        throw AdminCallError(0, "capfd sent a reply that is not JSON");
    }
    if (response.contains("error")) {
        const auto& e = response["error"];
        throw AdminCallError(e.value("code", 0), e.value("message", std::string("unknown error")));
    }
    if (!response.contains("result")) {
        throw AdminCallError(0, "capfd sent a reply without a result");
    }
    return response["result"];
}

}  // namespace capf
