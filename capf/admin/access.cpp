#include "capf/admin/access.hpp"

#include <grp.h>
#include <pwd.h>
#include <sys/socket.h>
#include <sys/xattr.h>
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

// The kernel's POSIX ACL extended attribute (linux/posix_acl_xattr.h):
// a version, then entries sorted by tag and, within a tag, by id.
constexpr std::uint32_t acl_xattr_version = 2;
constexpr std::uint16_t acl_user_obj = 0x01;
constexpr std::uint16_t acl_user = 0x02;
constexpr std::uint16_t acl_group_obj = 0x04;
constexpr std::uint16_t acl_group = 0x08;
constexpr std::uint16_t acl_mask = 0x10;
constexpr std::uint16_t acl_other = 0x20;
constexpr std::uint32_t acl_no_id = 0xffffffff;
constexpr std::uint16_t read_write = 06;

void append_le(std::vector<unsigned char>& out, std::uint32_t value, int bytes) {
    for (int i = 0; i < bytes; ++i)
        out.push_back(static_cast<unsigned char>(value >> (8 * i)));
}

void append_entry(std::vector<unsigned char>& out, std::uint16_t tag, std::uint16_t perm,
                  std::uint32_t id) {
    append_le(out, tag, 2);
    append_le(out, perm, 2);
    append_le(out, id, 4);
}

}  // namespace

void grant_file_access(const std::filesystem::path& path, unsigned mode,
                       const std::set<uid_t>& users, const std::set<gid_t>& groups) {
    std::vector<unsigned char> acl;
    append_le(acl, acl_xattr_version, 4);
    append_entry(acl, acl_user_obj, static_cast<std::uint16_t>((mode >> 6) & 07), acl_no_id);
    for (uid_t uid : users)
        append_entry(acl, acl_user, read_write, uid);
    append_entry(acl, acl_group_obj, static_cast<std::uint16_t>((mode >> 3) & 07), acl_no_id);
    for (gid_t gid : groups)
        append_entry(acl, acl_group, read_write, gid);
    // The mask bounds every named entry and the owning group: theirs, together.
    append_entry(acl, acl_mask, static_cast<std::uint16_t>(read_write | ((mode >> 3) & 07)),
                 acl_no_id);
    append_entry(acl, acl_other, static_cast<std::uint16_t>(mode & 07), acl_no_id);
    // setxattr on the path: on the socket's descriptor it would reach the
    // socket's own inode, not the file connect() checks.
    if (::setxattr(path.c_str(), "system.posix_acl_access", acl.data(), acl.size(), 0) != 0) {
        throw std::system_error(errno, std::generic_category(),
                                "cannot give the users and groups the admin keys name access "
                                "to " +
                                    path.string() + " by an ACL");
    }
}

}  // namespace capf
