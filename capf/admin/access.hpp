// Who may use the admin socket: decided from the peer's kernel-verified
// credentials (SO_PEERCRED), never from anything the client says.
#pragma once

#include <sys/types.h>

#include <optional>
#include <set>
#include <string>
#include <vector>

namespace capf {

struct PeerCredentials {
    pid_t pid = 0;
    uid_t uid = 0;
    gid_t gid = 0;
};

/// The credentials of the process at the other end of a connected Unix
/// socket, or nothing when the kernel cannot tell.
std::optional<PeerCredentials> peer_credentials(int socket_fd);

class AdminAccessPolicy {
  public:
    /// root, the service's own uid, `users` (names) and members of `group`.
    /// Throws std::runtime_error naming a user or group that does not exist.
    AdminAccessPolicy(const std::vector<std::string>& users,
                      const std::optional<std::string>& group);

    /// Allows explicit ids (tests, and callers that already resolved names).
    AdminAccessPolicy(std::set<uid_t> uids, std::set<gid_t> gids)
        : uids_(std::move(uids)), gids_(std::move(gids)) {}

    bool allows(const PeerCredentials& peer) const;
    /// The group the socket file is given, when one is configured.
    std::optional<gid_t> socket_group() const { return socket_group_; }

  private:
    std::set<uid_t> uids_;
    std::set<gid_t> gids_;
    std::optional<gid_t> socket_group_;
};

}  // namespace capf
