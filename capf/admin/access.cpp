#include "capf/admin/access.hpp"

#include <grp.h>
#include <pwd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <stdexcept>

namespace capf {

std::optional<PeerCredentials> peer_credentials(int socket_fd) {
    ucred cred{};
    socklen_t len = sizeof cred;
    if (::getsockopt(socket_fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0 || len != sizeof cred) {
        return std::nullopt;
    }
    return PeerCredentials{cred.pid, cred.uid, cred.gid};
}

AdminAccessPolicy::AdminAccessPolicy(const std::vector<std::string>& users,
                                     const std::optional<std::string>& group) {
    uids_.insert(0);
    uids_.insert(::geteuid());
    for (const auto& name : users) {
        const passwd* pw = ::getpwnam(name.c_str());
        if (pw == nullptr) {
            throw std::runtime_error("admin.allowed_users: no user named '" + name +
                                     "' on this host");
        }
        uids_.insert(pw->pw_uid);
    }
    if (group) {
        const ::group* gr = ::getgrnam(group->c_str());
        if (gr == nullptr) {
            throw std::runtime_error("admin.allowed_group: no group named '" + *group +
                                     "' on this host");
        }
        gids_.insert(gr->gr_gid);
        socket_group_ = gr->gr_gid;
    }
}

bool AdminAccessPolicy::allows(const PeerCredentials& peer) const {
    if (uids_.count(peer.uid) != 0 || gids_.count(peer.gid) != 0) {
        return true;
    }
    if (gids_.empty()) {
        return false;
    }
    // SO_PEERCRED carries only the primary group; supplementary groups come
    // from the group database for the peer's user.
    passwd pwd{};
    passwd* pw = nullptr;
    std::vector<char> buffer(16384);
    if (::getpwuid_r(peer.uid, &pwd, buffer.data(), buffer.size(), &pw) != 0 || pw == nullptr) {
        return false;
    }
    int count = 64;
    std::vector<gid_t> groups(static_cast<std::size_t>(count));
    if (::getgrouplist(pw->pw_name, pw->pw_gid, groups.data(), &count) == -1) {
        groups.resize(static_cast<std::size_t>(count));
        if (::getgrouplist(pw->pw_name, pw->pw_gid, groups.data(), &count) == -1) {
            return false;
        }
    }
    groups.resize(static_cast<std::size_t>(count));
    for (gid_t g : groups) {
        if (gids_.count(g) != 0) {
            return true;
        }
    }
    return false;
}

}  // namespace capf
