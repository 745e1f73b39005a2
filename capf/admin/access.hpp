// Who may use the admin socket, and with which role: decided from the peer's
// kernel-verified credentials (SO_PEERCRED), never from anything the client
// says.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "capf/admin/jsonrpc.hpp"
#include "capf/common/config.hpp"

namespace capf {

struct PeerCredentials {
    pid_t pid = 0;
    uid_t uid = 0;
    gid_t gid = 0;
};

/// The credentials of the process at the other end of a connected Unix
/// socket, or nothing when the kernel cannot tell.
std::optional<PeerCredentials> peer_credentials(int socket_fd);

/// A peer's role and what gives it: "root", "the service user",
/// "admin.allowed_users", "admin.allowed_group capfadmin",
/// "admin.readonly_users" or "admin.readonly_groups capfread".
struct AdminGrant {
    jsonrpc::Role role;
    std::string source;
};

/// "uid 1001 (alice)", or "uid 1001" when the user database has no name.
std::string describe_uid(uid_t uid);

/// The caller of a connection as refusals name it: "uid 1001 (alice) has
/// the read-only role (admin.readonly_users)".
jsonrpc::Caller caller_of(const PeerCredentials& peer, const AdminGrant& grant);

class AdminAccessPolicy {
  public:
    /// Admins: root, the service's own uid, admin.allowed_users and members
    /// of admin.allowed_group. Read-only: admin.readonly_users and members of
    /// admin.readonly_groups. Throws std::runtime_error naming the key and a
    /// user or group that does not exist on this host.
    explicit AdminAccessPolicy(const Config::Admin& settings);

    /// Explicit ids (tests, and callers that already resolved names); no
    /// built-in admins.
    AdminAccessPolicy(std::set<uid_t> admin_uids, std::set<gid_t> admin_gids,
                      std::set<uid_t> readonly_uids = {}, std::set<gid_t> readonly_gids = {});

    /// The peer's role, or nothing when it may not use the socket at all. An
    /// identity named both ways (say a member of admin.allowed_group listed
    /// in admin.readonly_users) is an admin: each key grants, none takes away.
    /// Groups count as the primary group of the credentials and the user's
    /// supplementary groups in the group database.
    std::optional<AdminGrant> role_of(const PeerCredentials& peer) const;

    /// The group the socket file is given, when one is configured.
    std::optional<gid_t> socket_group() const { return socket_group_; }
    /// The users and groups named by the configuration (besides root, the
    /// service user and the socket's group): the socket file lets them
    /// connect through an ACL, so that file permissions never stop a peer
    /// this policy admits.
    std::set<uid_t> named_users() const;
    std::set<gid_t> named_groups() const;

  private:
    /// id -> the source named in its grant
    struct Identities {
        std::map<uid_t, std::string> uids;
        std::map<gid_t, std::string> gids;
    };
    static std::optional<std::string> match(const Identities& ids, const PeerCredentials& peer,
                                            const std::vector<gid_t>& supplementary);

    Identities admins_;
    Identities readers_;
    std::optional<gid_t> socket_group_;
};

/// Gives `users` and `groups` read and write on the file at `path` (the
/// admin socket) by a POSIX access ACL, keeping the owner, group and other
/// permissions of `mode`. Throws std::system_error naming the path when the
/// file system refuses (EOPNOTSUPP: it has no ACLs).
void grant_file_access(const std::filesystem::path& path, unsigned mode,
                       const std::set<uid_t>& users, const std::set<gid_t>& groups);

}  // namespace capf
