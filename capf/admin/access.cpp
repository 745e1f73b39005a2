#include "capf/admin/access.hpp"

#include <grp.h>
#include <pwd.h>
#include <sys/acl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <stdexcept>
#include <system_error>

namespace capf {

std::optional<PeerCredentials> peer_credentials(int socket_fd) {
    ucred cred{};
    socklen_t len = sizeof cred;
    if (::getsockopt(socket_fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0 || len != sizeof cred) {
        return std::nullopt;
    }
    return PeerCredentials{cred.pid, cred.uid, cred.gid};
}

namespace {

/// The user's name, or nothing when the user database has none.
std::optional<std::string> user_name(uid_t uid) {
    passwd pwd{};
    passwd* pw = nullptr;
    std::vector<char> buffer(16384);
    if (::getpwuid_r(uid, &pwd, buffer.data(), buffer.size(), &pw) != 0 || pw == nullptr) {
        return std::nullopt;
    }
    return std::string(pw->pw_name);
}

/// The groups the peer's user belongs to in the group database: SO_PEERCRED
/// carries only the primary group. Empty when the uid has no user entry.
std::vector<gid_t> supplementary_groups(const PeerCredentials& peer) {
    passwd pwd{};
    passwd* pw = nullptr;
    std::vector<char> buffer(16384);
    if (::getpwuid_r(peer.uid, &pwd, buffer.data(), buffer.size(), &pw) != 0 || pw == nullptr) {
        return {};
    }
    int count = 64;
    std::vector<gid_t> groups(static_cast<std::size_t>(count));
    if (::getgrouplist(pw->pw_name, pw->pw_gid, groups.data(), &count) == -1) {
        groups.resize(static_cast<std::size_t>(count));
        if (::getgrouplist(pw->pw_name, pw->pw_gid, groups.data(), &count) == -1) {
            return {};
        }
    }
    groups.resize(static_cast<std::size_t>(count));
    return groups;
}

uid_t resolve_user(const std::string& key, const std::string& name) {
    const passwd* pw = ::getpwnam(name.c_str());
    if (pw == nullptr) {
        throw std::runtime_error(key + ": no user named '" + name + "' on this host");
    }
    return pw->pw_uid;
}

gid_t resolve_group(const std::string& key, const std::string& name) {
    const ::group* gr = ::getgrnam(name.c_str());
    if (gr == nullptr) {
        throw std::runtime_error(key + ": no group named '" + name + "' on this host");
    }
    return gr->gr_gid;
}

}  // namespace

std::string describe_uid(uid_t uid) {
    const auto name = user_name(uid);
    return "uid " + std::to_string(uid) + (name ? " (" + *name + ")" : std::string());
}

jsonrpc::Caller caller_of(const PeerCredentials& peer, const AdminGrant& grant) {
    return {grant.role, describe_uid(peer.uid) + " has the " + jsonrpc::role_name(grant.role) +
                            " role (" + grant.source + ")"};
}

AdminAccessPolicy::AdminAccessPolicy(const Config::Admin& settings) {
    admins_.uids.emplace(0, "root");
    admins_.uids.emplace(::geteuid(), "the service user");
    for (const auto& name : settings.allowed_users) {
        admins_.uids.emplace(resolve_user("admin.allowed_users", name), "admin.allowed_users");
    }
    if (settings.allowed_group) {
        const gid_t gid = resolve_group("admin.allowed_group", *settings.allowed_group);
        admins_.gids.emplace(gid, "admin.allowed_group " + *settings.allowed_group);
        socket_group_ = gid;
    }
    for (const auto& name : settings.readonly_users) {
        readers_.uids.emplace(resolve_user("admin.readonly_users", name), "admin.readonly_users");
    }
    for (const auto& name : settings.readonly_groups) {
        readers_.gids.emplace(resolve_group("admin.readonly_groups", name),
                              "admin.readonly_groups " + name);
    }
}

AdminAccessPolicy::AdminAccessPolicy(std::set<uid_t> admin_uids, std::set<gid_t> admin_gids,
                                     std::set<uid_t> readonly_uids, std::set<gid_t> readonly_gids) {
    for (uid_t uid : admin_uids)
        admins_.uids.emplace(uid, "uid " + std::to_string(uid) + " is an admin");
    for (gid_t gid : admin_gids)
        admins_.gids.emplace(gid, "gid " + std::to_string(gid) + " is an admin group");
    for (uid_t uid : readonly_uids)
        readers_.uids.emplace(uid, "uid " + std::to_string(uid) + " is read-only");
    for (gid_t gid : readonly_gids)
        readers_.gids.emplace(gid, "gid " + std::to_string(gid) + " is a read-only group");
}

std::optional<std::string> AdminAccessPolicy::match(const Identities& ids,
                                                    const PeerCredentials& peer,
                                                    const std::vector<gid_t>& supplementary) {
    if (auto it = ids.uids.find(peer.uid); it != ids.uids.end())
        return it->second;
    if (auto it = ids.gids.find(peer.gid); it != ids.gids.end())
        return it->second;
    for (gid_t g : supplementary) {
        if (auto it = ids.gids.find(g); it != ids.gids.end())
            return it->second;
    }
    return std::nullopt;
}

std::optional<AdminGrant> AdminAccessPolicy::role_of(const PeerCredentials& peer) const {
    // The group database is read only when a group could decide.
    const bool groups_matter = !admins_.gids.empty() || !readers_.gids.empty();
    const std::vector<gid_t> groups =
        groups_matter ? supplementary_groups(peer) : std::vector<gid_t>{};
    if (auto source = match(admins_, peer, groups)) {
        return AdminGrant{jsonrpc::Role::admin, std::move(*source)};
    }
    if (auto source = match(readers_, peer, groups)) {
        return AdminGrant{jsonrpc::Role::read_only, std::move(*source)};
    }
    return std::nullopt;
}

std::set<uid_t> AdminAccessPolicy::named_users() const {
    std::set<uid_t> out;
    for (const Identities* ids : {&admins_, &readers_}) {
        for (const auto& [uid, source] : ids->uids) {
            if (uid != 0 && uid != ::geteuid())
                out.insert(uid);
        }
    }
    return out;
}

std::set<gid_t> AdminAccessPolicy::named_groups() const {
    std::set<gid_t> out;
    for (const Identities* ids : {&admins_, &readers_}) {
        for (const auto& [gid, source] : ids->gids) {
            if (gid != socket_group_)
                out.insert(gid);
        }
    }
    return out;
}

namespace {

/// "rw-" for the permission bits `bits` (0-7).
std::string permissions_text(unsigned bits) {
    return std::string(bits & 04 ? "r" : "-") + (bits & 02 ? "w" : "-") + (bits & 01 ? "x" : "-");
}

}  // namespace

void grant_file_access(const std::filesystem::path& path, unsigned mode,
                       const std::set<uid_t>& users, const std::set<gid_t>& groups) {
    // The short text form of acl(5), by numeric id: the names were resolved
    // at start, and a name server must not be asked again here.
    std::string text = "u::" + permissions_text((mode >> 6) & 07);
    for (uid_t uid : users)
        text += ",u:" + std::to_string(uid) + ":rw-";
    text += ",g::" + permissions_text((mode >> 3) & 07);
    for (gid_t gid : groups)
        text += ",g:" + std::to_string(gid) + ":rw-";
    // The mask bounds every named entry and the owning group: theirs, together.
    text += ",m::" + permissions_text(06 | ((mode >> 3) & 07));
    text += ",o::" + permissions_text(mode & 07);
    acl_t acl = ::acl_from_text(text.c_str());
    if (acl == nullptr)
        throw std::system_error(errno, std::generic_category(), "ACL '" + text + "'");
    // On the path: on the socket's descriptor it would reach the socket's
    // own inode, not the file connect() checks.
    const int set = ::acl_set_file(path.c_str(), ACL_TYPE_ACCESS, acl);
    const int error = errno;
    ::acl_free(acl);
    if (set != 0) {
        throw std::system_error(error, std::generic_category(),
                                "cannot give the users and groups the admin keys name access "
                                "to " +
                                    path.string() + " by an ACL");
    }
}

}  // namespace capf
