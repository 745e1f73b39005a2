// The admin access policy: which role a peer's uid and groups give it, and
// what refusals say about it (capf/admin/access.hpp).
#include <unistd.h>

#include <catch2/catch.hpp>

#include "capf/admin/access.hpp"

// The file's own namespace: the suite is compiled in unity batches, and its
// file-local names must not meet another file's.
namespace admin_access_test_cases {

using namespace capf;
using jsonrpc::Role;

namespace {

/// A uid and gids no account on a test machine has.
constexpr uid_t stranger_uid = 3'999'001;
constexpr gid_t stranger_gid = 3'999'002;
constexpr uid_t admin_uid = 3'999'011;
constexpr gid_t admin_gid = 3'999'012;
constexpr uid_t reader_uid = 3'999'021;
constexpr gid_t reader_gid = 3'999'022;

PeerCredentials peer(uid_t uid, gid_t gid) {
    return PeerCredentials{42, uid, gid};
}

AdminAccessPolicy mixed_policy() {
    return AdminAccessPolicy({admin_uid}, {admin_gid}, {reader_uid}, {reader_gid});
}

}  // namespace

TEST_CASE("access: admin uids and groups get the admin role, naming what grants it") {
    const auto policy = mixed_policy();
    const auto by_uid = policy.role_of(peer(admin_uid, stranger_gid));
    REQUIRE(by_uid);
    CHECK(by_uid->role == Role::admin);
    CHECK(by_uid->source == "uid 3999011 is an admin");
    const auto by_group = policy.role_of(peer(stranger_uid, admin_gid));
    REQUIRE(by_group);
    CHECK(by_group->role == Role::admin);
    CHECK(by_group->source == "gid 3999012 is an admin group");
}

TEST_CASE("access: read-only uids and groups get the read-only role") {
    const auto policy = mixed_policy();
    const auto by_uid = policy.role_of(peer(reader_uid, stranger_gid));
    REQUIRE(by_uid);
    CHECK(by_uid->role == Role::read_only);
    CHECK(by_uid->source == "uid 3999021 is read-only");
    const auto by_group = policy.role_of(peer(stranger_uid, reader_gid));
    REQUIRE(by_group);
    CHECK(by_group->role == Role::read_only);
    CHECK(by_group->source == "gid 3999022 is a read-only group");
}

TEST_CASE("access: a peer named both ways is an admin, a peer named nowhere gets no role") {
    const auto policy = mixed_policy();
    const auto reader_in_admin_group = policy.role_of(peer(reader_uid, admin_gid));
    REQUIRE(reader_in_admin_group);
    CHECK(reader_in_admin_group->role == Role::admin);
    const auto admin_in_reader_group = policy.role_of(peer(admin_uid, reader_gid));
    REQUIRE(admin_in_reader_group);
    CHECK(admin_in_reader_group->role == Role::admin);
    CHECK_FALSE(policy.role_of(peer(stranger_uid, stranger_gid)));
}

TEST_CASE("access: a supplementary group from the group database gives its role") {
    // SO_PEERCRED carries the primary group only; root's groups in the group
    // database include gid 0, which the credentials here do not carry.
    const AdminAccessPolicy policy({}, {}, {}, {0});
    const auto grant = policy.role_of(peer(0, stranger_gid));
    REQUIRE(grant);
    CHECK(grant->role == Role::read_only);
    CHECK(grant->source == "gid 0 is a read-only group");
}

TEST_CASE("access: from the configuration, root and the service user are admins") {
    const AdminAccessPolicy policy(Config::Admin{});
    const auto root = policy.role_of(peer(0, 0));
    REQUIRE(root);
    CHECK(root->role == Role::admin);
    CHECK(root->source == "root");
    if (::geteuid() != 0) {
        const auto self = policy.role_of(peer(::geteuid(), ::getegid()));
        REQUIRE(self);
        CHECK(self->role == Role::admin);
        CHECK(self->source == "the service user");
    }
    CHECK_FALSE(policy.role_of(peer(stranger_uid, stranger_gid)));
    CHECK(policy.named_users().empty());
    CHECK(policy.named_groups().empty());
}

TEST_CASE("access: readonly users and groups from the configuration get the read-only role") {
    Config::Admin settings;
    settings.readonly_users = {"root"};  // exists everywhere; a real reader is someone else
    settings.readonly_groups = {"root"};
    const AdminAccessPolicy policy(settings);
    // root is an admin before it is a reader; the group names the key.
    const auto by_group = policy.role_of(peer(stranger_uid, 0));
    REQUIRE(by_group);
    CHECK(by_group->role == Role::read_only);
    CHECK(by_group->source == "admin.readonly_groups root");
    CHECK(policy.named_groups() == std::set<gid_t>{0});
}

TEST_CASE("access: an unknown readonly user or group is refused, naming the key and the name") {
    Config::Admin users;
    users.readonly_users = {"capf-no-such-user"};
    CHECK_THROWS_WITH(AdminAccessPolicy(users),
                      "admin.readonly_users: no user named 'capf-no-such-user' on this host");
    Config::Admin groups;
    groups.readonly_groups = {"capf-no-such-group"};
    CHECK_THROWS_WITH(AdminAccessPolicy(groups),
                      "admin.readonly_groups: no group named 'capf-no-such-group' on this host");
}

TEST_CASE("access: the caller description names the uid, its user, the role and its source") {
    const auto caller =
        caller_of(peer(0, 0), AdminGrant{Role::read_only, "admin.readonly_groups capfread"});
    CHECK(caller.role == Role::read_only);
    CHECK(caller.description ==
          "uid 0 (root) has the read-only role (admin.readonly_groups capfread)");
    CHECK(describe_uid(stranger_uid) == "uid 3999001");
}

}  // namespace admin_access_test_cases
