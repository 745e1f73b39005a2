// The admin socket over a real Unix socket: access control by peer
// credentials, limits, timeouts, many clients, stale sockets.
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <asio/io_context.hpp>
#include <asio/post.hpp>
#include <catch2/catch.hpp>
#include <cstdio>
#include <filesystem>
#include <future>
#include <iostream>
#include <thread>

#include "capf/admin/server.hpp"
#include "capf/ctl/admin_client.hpp"
#include "tests/capf/test_support.hpp"

// The file's own namespace: the suite is compiled in unity batches, and its
// file-local names must not meet another file's.
namespace admin_server_test_cases {

using namespace capf;
using namespace std::chrono_literals;
using capf::test::run_command;

namespace {

std::filesystem::path make_temp_dir() {
    char tmpl[] = "/tmp/capf-admin-XXXXXX";
    REQUIRE(::mkdtemp(tmpl) != nullptr);
    // Traversable by an unprivileged user for the runuser test.
    std::filesystem::permissions(tmpl, std::filesystem::perms(0755));
    return tmpl;
}

AdminAccessPolicy default_policy() {
    return AdminAccessPolicy(Config::Admin{});
}

class RunningAdminServer {
  public:
    explicit RunningAdminServer(AdminAccessPolicy policy = default_policy(),
                                AdminServerOptions options = {})
        : dir_(make_temp_dir()), policy_(std::move(policy)), pool_(2) {
        registry_.add({"echo",
                       jsonrpc::Role::read_only,
                       "returns its params",
                       {"a", "c", "i", "n", "still", "x", "y"},
                       [](const jsonrpc::json& p) { return p; }});
        registry_.add({"change",
                       jsonrpc::Role::admin,
                       "counts the calls that reached it",
                       {},
                       [this](const jsonrpc::json&) { return jsonrpc::json(++changes_); }});
        options.socket_path = dir_ / "admin.sock";
        server_ = std::make_unique<AdminServer>(io_, options, registry_, policy_, pool_);
        server_->start();
        thread_ = std::thread([this] { io_.run(); });
    }
    ~RunningAdminServer() {
        asio::post(io_, [this] {
            server_->stop();
            io_.stop();
        });
        thread_.join();
        std::error_code ignored;
        std::filesystem::remove_all(dir_, ignored);
    }
    std::filesystem::path socket() const { return dir_ / "admin.sock"; }
    const AdminServerStats& stats() const { return server_->stats(); }
    /// Calls of "change" that reached its handler.
    int changes() const { return changes_; }

  private:
    std::atomic<int> changes_{0};
    std::filesystem::path dir_;
    AdminAccessPolicy policy_;
    BlockingPool pool_;
    jsonrpc::Registry registry_;
    asio::io_context io_{1};
    std::unique_ptr<AdminServer> server_;
    std::thread thread_;
};

int rpc_code_of(const std::function<void()>& call) {
    try {
        call();
    } catch (const AdminCallError& e) {
        return e.rpc_code();
    }
    return 1;  // no error at all
}

}  // namespace

TEST_CASE("an allowed peer calls a method and the socket has the configured mode") {
    RunningAdminServer server;
    AdminClient client(server.socket(), 5s);
    CHECK(client.call("echo", {{"x", 1}}) == jsonrpc::json{{"x", 1}});
    CHECK(client.call("echo", {{"y", "two"}}) == jsonrpc::json{{"y", "two"}});
    struct stat st {};
    REQUIRE(::stat(server.socket().c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0660);
    CHECK(server.stats().requests == 2);
}

TEST_CASE("errors come back as JSON-RPC errors on a connection that stays usable") {
    RunningAdminServer server;
    AdminClient client(server.socket(), 5s);
    CHECK(rpc_code_of([&] { client.call("nope"); }) == -32601);
    const auto reply = jsonrpc::json::parse(client.raw_exchange("{garbage\n"));
    CHECK(reply["error"]["code"] == -32700);
    CHECK(client.call("echo", {{"still", "here"}})["still"] == "here");
}

TEST_CASE("a peer outside the allowed uids and groups is refused") {
    // A policy that allows neither our uid nor our group.
    AdminAccessPolicy nobody_allowed(std::set<uid_t>{}, std::set<gid_t>{});
    RunningAdminServer server(std::move(nobody_allowed));
    AdminClient client(server.socket(), 5s);
    try {
        client.call("echo");
        FAIL("the call must be refused");
    } catch (const AdminCallError& e) {
        CHECK(e.rpc_code() == static_cast<int>(jsonrpc::ErrorCode::permission_denied));
        CHECK_THAT(std::string(e.what()),
                   Catch::Contains("permission denied: uid " + std::to_string(::geteuid())));
    }
    CHECK(server.stats().refused_peers == 1);
    CHECK(server.stats().requests == 0);
}

TEST_CASE("capfctl run as an unprivileged user is refused by peer credentials") {
    if (::geteuid() != 0) {
        // Reported as skipped, not passed (SKIP_REGULAR_EXPRESSION of the
        // suite, tests/CMakeLists.txt). On standard output: Catch2 v2 does
        // not print a WARN of a test case that passes.
        std::cout << "SKIP: needs root to run capfctl as the 'nobody' user; the policy test "
                     "above covers the refusal for the current user\n";
        return;
    }
    AdminServerOptions options;
    options.socket_mode = 0666;  // the file lets anyone connect: only SO_PEERCRED stands in the way
    RunningAdminServer server(default_policy(), options);
    int status = 0;
    const std::string out = run_command("runuser -u nobody -- " CAPF_CAPFCTL_PATH " --socket " +
                                            server.socket().string() + " version",
                                        status);
    CHECK(WEXITSTATUS(status) == 1);
    CHECK_THAT(out, Catch::Contains("permission denied: uid 65534"));
    CHECK(server.stats().refused_peers == 1);

    // Root is allowed through the same socket.
    const std::string ok = run_command(
        CAPF_CAPFCTL_PATH " --socket " + server.socket().string() + " call echo '{\"a\": 5}'",
        status);
    CHECK(WEXITSTATUS(status) == 0);
    CHECK_THAT(ok, Catch::Contains("\"a\": 5"));
}

TEST_CASE("a read-only peer is served the read methods and refused the others, by name") {
    // Our uid is read-only here: no admin at all.
    AdminAccessPolicy readers_only(std::set<uid_t>{}, std::set<gid_t>{}, {::geteuid()}, {});
    RunningAdminServer server(std::move(readers_only));
    AdminClient client(server.socket(), 5s);
    CHECK(client.call("echo", {{"x", 1}}) == jsonrpc::json{{"x", 1}});
    try {
        client.call("change");
        FAIL("the admin method must be refused");
    } catch (const AdminCallError& e) {
        CHECK(e.rpc_code() == static_cast<int>(jsonrpc::ErrorCode::permission_denied));
        CHECK_THAT(std::string(e.what()),
                   Catch::StartsWith("method change needs the admin role; " +
                                     describe_uid(::geteuid()) + " has the read-only role (uid " +
                                     std::to_string(::geteuid()) + " is read-only)"));
    }
    CHECK(server.changes() == 0);
    // The connection stays usable after the refusal.
    CHECK(client.call("echo", {{"y", 2}}) == jsonrpc::json{{"y", 2}});
    CHECK(server.stats().refused_peers == 0);
}

TEST_CASE(
    "capfctl run as a read-only user connects through the socket's ACL and is refused "
    "admin methods") {
    if (::geteuid() != 0) {
        std::cout << "SKIP: needs root to run capfctl as the 'nobody' user; the read-only peer "
                     "test above covers the refusal for the current user\n";
        return;
    }
    // Mode 0660 and owner root: only the ACL for the read-only uid lets nobody in.
    const uid_t nobody = 65534;
    AdminAccessPolicy policy(std::set<uid_t>{0}, std::set<gid_t>{}, {nobody}, {});
    RunningAdminServer server(std::move(policy));
    int status = 0;
    const std::string capfctl =
        "runuser -u nobody -- " CAPF_CAPFCTL_PATH " --socket " + server.socket().string();
    const std::string read = run_command(capfctl + " call echo '{\"a\": 5}'", status);
    CHECK(WEXITSTATUS(status) == 0);
    CHECK_THAT(read, Catch::Contains("\"a\": 5"));
    const std::string refused = run_command(capfctl + " call change", status);
    CHECK(WEXITSTATUS(status) == 1);
    CHECK_THAT(refused, Catch::Contains("method change needs the admin role; uid 65534 (nobody) "
                                        "has the read-only role"));
    CHECK(server.changes() == 0);
}

TEST_CASE("a request over the size limit is answered with an error and the connection closed") {
    AdminServerOptions options;
    options.max_request_size = 2048;
    RunningAdminServer server(default_policy(), options);
    AdminClient client(server.socket(), 5s);
    const std::string big = R"({"jsonrpc":"2.0","id":1,"method":"echo","params":{"x":")" +
                            std::string(4096, 'a') + "\"}}\n";
    const auto reply = jsonrpc::json::parse(client.raw_exchange(big));
    CHECK(reply["error"]["code"] == static_cast<int>(jsonrpc::ErrorCode::request_too_large));
    CHECK_THAT(reply["error"]["message"].get<std::string>(), Catch::Contains("2048"));
    CHECK(server.stats().too_large == 1);
    CHECK_THROWS_AS(client.call("echo"), AdminCallError);
}

TEST_CASE("a request nested deeper than 64 levels is refused over the socket, which stays usable") {
    RunningAdminServer server;
    AdminClient client(server.socket(), 5s);
    const std::string deep = R"({"jsonrpc":"2.0","id":1,"method":"echo","params":{"x":)" +
                             std::string(100000, '[') + std::string(100000, ']') + "}}\n";
    const auto reply = jsonrpc::json::parse(client.raw_exchange(deep));
    CHECK(reply["error"]["code"] == static_cast<int>(jsonrpc::ErrorCode::invalid_request));
    CHECK_THAT(reply["error"]["message"].get<std::string>(),
               Catch::Contains("nested deeper than 64 levels"));
    CHECK(client.call("echo", {{"a", 1}}) == jsonrpc::json{{"a", 1}});
}

TEST_CASE("an idle client is disconnected after the client timeout") {
    AdminServerOptions options;
    options.client_timeout = 300ms;
    RunningAdminServer server(default_policy(), options);
    AdminClient client(server.socket(), 5s);
    CHECK(client.call("echo", {{"a", 1}})["a"] == 1);
    std::this_thread::sleep_for(800ms);
    try {
        client.call("echo");
        FAIL("the idle connection must have been closed");
    } catch (const AdminCallError& e) {
        CHECK(e.rpc_code() == 0);
    }
    CHECK(server.stats().timeouts == 1);
}

TEST_CASE("many clients at once are all served") {
    RunningAdminServer server;
    constexpr int clients = 40;
    constexpr int calls = 25;
    std::vector<std::future<int>> results;
    for (int c = 0; c < clients; ++c) {
        results.push_back(std::async(std::launch::async, [&, c] {
            AdminClient client(server.socket(), 10s);
            int ok = 0;
            for (int i = 0; i < calls; ++i) {
                ok +=
                    client.call("echo", {{"c", c}, {"i", i}}) == jsonrpc::json{{"c", c}, {"i", i}};
            }
            return ok;
        }));
    }
    int total = 0;
    for (auto& r : results) {
        total += r.get();
    }
    CHECK(total == clients * calls);
}

TEST_CASE("clients over the limit are told to retry") {
    AdminServerOptions options;
    options.max_clients = 2;
    RunningAdminServer server(default_policy(), options);
    AdminClient first(server.socket(), 5s);
    AdminClient second(server.socket(), 5s);
    CHECK(first.call("echo", {{"n", 1}})["n"] == 1);
    CHECK(second.call("echo", {{"n", 2}})["n"] == 2);
    AdminClient third(server.socket(), 5s);
    CHECK(rpc_code_of([&] { third.call("echo"); }) ==
          static_cast<int>(jsonrpc::ErrorCode::unavailable));
    CHECK(server.stats().over_limit == 1);
}

TEST_CASE("a live socket is never replaced, a stale one is") {
    RunningAdminServer live;
    asio::io_context io;
    BlockingPool pool(1);
    jsonrpc::Registry registry;
    const auto policy = default_policy();
    AdminServerOptions options;
    options.socket_path = live.socket();
    AdminServer second(io, options, registry, policy, pool);
    CHECK_THROWS_WITH(second.start(), Catch::Contains("another process is serving"));

    // A socket file nobody listens on, as a crash leaves it.
    const auto dir = make_temp_dir();
    const auto stale = dir / "admin.sock";
    {
        asio::io_context tmp;
        asio::local::stream_protocol::acceptor acceptor(tmp);
        acceptor.open();
        acceptor.bind(asio::local::stream_protocol::endpoint(stale.string()));
    }
    REQUIRE(std::filesystem::exists(stale));
    options.socket_path = stale;
    AdminServer third(io, options, registry, policy, pool);
    CHECK_NOTHROW(third.start());
    third.stop();
    CHECK_FALSE(std::filesystem::exists(stale));

    // Anything that is not a socket is left alone.
    std::FILE* f = std::fopen(stale.c_str(), "w");
    REQUIRE(f != nullptr);
    std::fclose(f);
    AdminServer fourth(io, options, registry, policy, pool);
    CHECK_THROWS_WITH(fourth.start(), Catch::Contains("is not a socket"));
    CHECK(std::filesystem::exists(stale));
    std::filesystem::remove_all(dir);
}

namespace {

/// One connection attempt to the admin socket at `path`: true when nothing
/// listens there any more (stop() removes the file first, so ENOENT; a
/// connect that raced the removal meets the closed acceptor instead).
bool admin_connection_refused(const std::filesystem::path& path) {
    const int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
    if (fd < 0)
        return false;
    sockaddr_un to{};
    to.sun_family = AF_UNIX;
    std::snprintf(to.sun_path, sizeof to.sun_path, "%s", path.c_str());
    const bool refused = ::connect(fd, reinterpret_cast<const sockaddr*>(&to), sizeof to) != 0 &&
                         (errno == ENOENT || errno == ECONNREFUSED);
    ::close(fd);
    return refused;
}

/// A started admin server in a directory of its own, removed afterwards.
struct AdminServing {
    explicit AdminServing(asio::io_context& io)
        : dir(make_temp_dir()),
          policy(default_policy()),
          pool(1),
          server(io, options_in(dir), registry, policy, pool) {
        server.start();
    }
    ~AdminServing() {
        std::error_code ignored;
        std::filesystem::remove_all(dir, ignored);
    }
    static AdminServerOptions options_in(const std::filesystem::path& dir) {
        AdminServerOptions options;
        options.socket_path = dir / "admin.sock";
        return options;
    }
    void stop() { server.stop(); }
    std::filesystem::path dir;
    AdminAccessPolicy policy;
    BlockingPool pool;
    jsonrpc::Registry registry;
    AdminServer server;
};

}  // namespace

// The admin half of the race the phone listener test covers: capfd stops
// the admin server from one I/O thread while its accept loop may be
// completing an accept on the other. Clients here are cheaper to accept
// than phones, so the window is narrower: with stop() closing the acceptor
// directly, the sanitizer build failed 1 run in 5 at 250 rounds, 3 in 6 at
// 1,000 and 5 in 5 at 2,000 (about 13 s).
TEST_CASE("stop() on either I/O thread while clients keep connecting ends the admin accept loop") {
    constexpr int rounds = 2000;
    const auto seen = test::stop_while_connecting(
        rounds, [](asio::io_context& io) { return std::make_unique<AdminServing>(io); },
        [](AdminServing& s) { return admin_connection_refused(s.dir / "admin.sock"); },
        [](AdminServing& s) { return s.server.stats().connections.load(); });
    CHECK(seen.refused_after_stop == rounds);
    CHECK(seen.runs_ended == rounds);
}

}  // namespace admin_server_test_cases
