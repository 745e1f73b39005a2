// The delivery worker (capf/tftp/delivery_worker) against a real outbox:
// a batch is claimed under one lease and delivered device after device, so
// past half the lease the rest is left for a later round. Without that, a
// slow encryptor outlives the lease and another node delivers the same
// devices again (two nodes under load delivered 21 of 200 twice).
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>
#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "capf/common/atomic_file.hpp"
#include "capf/common/blocking_pool.hpp"
#include "capf/tftp/delivery_worker.hpp"
#include "storage/delivery_repository.hpp"
#include "storage/devices.hpp"
#include "tests/storage/pg_test_support.hpp"
#include "tests/storage/repositories.hpp"

// The file's own namespace: the suite is compiled in unity batches, and its
// file-local names must not meet another file's.
namespace tftp_delivery_worker_test_cases {

using namespace capf;
using namespace std::chrono_literals;

namespace {

/// Who delivered which device, shared by the encryptors of both nodes.
struct DeliveryLog {
    std::mutex mutex;
    std::map<std::string, std::vector<std::string>> nodes_by_device;
};

/// An encryptor that takes `delay` per device, like a slow exec script.
class SlowEncryptor : public tftp::Encryptor {
  public:
    SlowEncryptor(std::string node, DeliveryLog& log, std::chrono::milliseconds delay)
        : node_(std::move(node)), log_(log), delay_(delay) {}
    std::string_view name() const override { return "slow"; }
    void deliver(const storage::DeviceFacts& facts, storage::DeliveryChange,
                 const tftp::LeaseGuard&) override {
        std::this_thread::sleep_for(delay_);
        std::lock_guard lock(log_.mutex);
        log_.nodes_by_device[facts.name].push_back(node_);
    }

  private:
    std::string node_;
    DeliveryLog& log_;
    std::chrono::milliseconds delay_;
};

std::size_t deliveries(DeliveryLog& log) {
    std::lock_guard lock(log.mutex);
    std::size_t n = 0;
    for (const auto& [device, nodes] : log.nodes_by_device)
        n += nodes.size();
    return n;
}

}  // namespace

TEST_CASE(
    "tftp delivery: a batch whose lease runs out mid-way is never delivered twice by two "
    "nodes") {
    test::TestDatabase db;
    storage::Devices devices{*db.pool};
    storage::DeliveryRepository outbox{*db.pool};
    // 6 devices at 700 ms each take 4.2 s; the lease of their one batch is 2 s.
    constexpr int device_count = 6;
    for (int i = 0; i < device_count; ++i) {
        const std::string name = "SEP0011223344" + std::to_string(10 + i);
        devices.add_device(
            storage::DeviceSettings{name, "", storage::AuthMode::null_string, "rsa-2048"},
            test::admin_actor);
        outbox.request_delivery(name, test::admin_actor);
    }
    DeliveryLog log;
    asio::io_context io;
    BlockingPool pool(4);
    std::vector<std::unique_ptr<tftp::Encryptors>> encryptors;
    std::vector<std::unique_ptr<tftp::DeliveryWorker>> workers;
    for (const std::string node : {"node-a", "node-b"}) {
        encryptors.push_back(std::make_unique<tftp::Encryptors>());
        encryptors.back()->push_back(std::make_unique<SlowEncryptor>(node, log, 700ms));
        tftp::DeliverySettings settings;
        settings.node = node;
        settings.batch = 32;
        settings.lease = 2s;
        settings.idle_poll = 50ms;
        workers.push_back(
            std::make_unique<tftp::DeliveryWorker>(settings, outbox, *encryptors.back(), pool));
    }
    // node-a first, so that it claims the whole batch.
    asio::co_spawn(io, workers[0]->run(), asio::detached);
    std::thread runner([&io] {
        const auto guard = asio::make_work_guard(io);
        io.run();
    });
    std::this_thread::sleep_for(200ms);
    asio::co_spawn(io, workers[1]->run(), asio::detached);

    const auto deadline = std::chrono::steady_clock::now() + 20s;
    while (deliveries(log) < device_count && std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(50ms);
    // Longer than a lease more: a second delivery of any device would show.
    std::this_thread::sleep_for(2500ms);
    io.stop();
    runner.join();
    pool.stop();

    std::lock_guard lock(log.mutex);
    REQUIRE(log.nodes_by_device.size() == device_count);
    for (const auto& [device, nodes] : log.nodes_by_device) {
        INFO(device << " delivered by " << nodes.size() << " node(s), first " << nodes.front());
        CHECK(nodes.size() == 1);
    }
    // node-a stopped after two devices (1.4 s of a 2 s lease): the rest went
    // in later rounds, by whichever node claimed them first.
    CHECK(workers[0]->counters().delivered.load() >= 2);
}

namespace {

/// What each node wrote into one device's file, in the order of the writes.
struct FileWrites {
    std::mutex mutex;
    std::vector<std::pair<std::string, std::string>> node_and_md5;
    std::vector<std::pair<std::string, std::string>> copy() {
        std::lock_guard lock(mutex);
        return node_and_md5;
    }
};

/// Stalls the first delivery on its node for `stall` (an exec that runs
/// long), and signals when it started.
class StallOnce : public tftp::Encryptor {
  public:
    explicit StallOnce(std::chrono::milliseconds stall) : stall_(stall) {}
    std::string_view name() const override { return "stall"; }
    void deliver(const storage::DeviceFacts&, storage::DeliveryChange,
                 const tftp::LeaseGuard&) override {
        if (started_.exchange(true))
            return;
        std::this_thread::sleep_for(stall_);
        finished_ = true;
    }
    bool started() const { return started_; }
    bool finished() const { return finished_; }

  private:
    std::chrono::milliseconds stall_;
    std::atomic<bool> started_{false};
    std::atomic<bool> finished_{false};
};

/// Writes the device's MD5 into DIR/NAME.md5 as enc-sgn writes its files:
/// atomically, asking the lease just before the rename.
class Md5FileWriter : public tftp::Encryptor {
  public:
    Md5FileWriter(std::filesystem::path dir, std::string node, FileWrites& writes)
        : dir_(std::move(dir)), node_(std::move(node)), writes_(writes) {}
    std::string_view name() const override { return "md5-file"; }
    void deliver(const storage::DeviceFacts& facts, storage::DeliveryChange,
                 const tftp::LeaseGuard& lease) override {
        const auto target = dir_ / (facts.name + ".md5");
        write_file_atomically(
            target,
            {reinterpret_cast<const std::uint8_t*>(facts.md5_hex.data()), facts.md5_hex.size()},
            0644, [&] { lease.require(0ms, "replacing " + target.string()); });
        std::lock_guard lock(writes_.mutex);
        writes_.node_and_md5.emplace_back(node_, facts.md5_hex);
    }

  private:
    std::filesystem::path dir_;
    std::string node_;
    FileWrites& writes_;
};

storage::IssuedCertificateRecord certificate(const std::string& serial, const std::string& md5) {
    const auto now = std::chrono::system_clock::now();
    return storage::IssuedCertificateRecord{
        serial,
        storage::Bytes{0x30, 0x82, 0x01, static_cast<std::uint8_t>(serial.size())},
        now,
        now + std::chrono::hours(24),
        storage::Bytes{0x30, 0x59, 0x01},
        md5};
}

/// A phone confirms a new LSC: the facts change and an 'installed' row is queued.
void install(test::Repositories& repo, const std::string& name,
             const storage::IssuedCertificateRecord& cert) {
    repo.schedule.schedule_operation(
        name, storage::ScheduleRequest{storage::Operation::install, {}, {}, {}}, test::admin_actor);
    const auto held = *repo.claims.claim_pending_operation(name, "session-node", 60s);
    repo.outcomes.record_certificate_issued(held, cert, "10.0.0.1");
    repo.outcomes.record_store_confirmed(held, cert, "10.0.0.1");
}

std::string read_text(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

std::size_t undelivered(test::TestDatabase& db) {
    std::size_t n = 0;
    db.pool->transact([&](pqxx::work& txn) {
        n = txn.exec1(R"SQL(SELECT count(*) FROM deliveries WHERE delivered_at IS NULL)SQL")[0]
                .as<std::size_t>();
    });
    return n;
}

}  // namespace

// Issue 32, item 2: node A claims a device's delivery, one of its
// encryptors runs past the lease (an exec with a long timeout), node B takes
// the delivery over with the phone's new LSC and writes the new file; A must
// then neither write its old facts over B's file, nor leave the device
// without a delivery of its newest facts.
TEST_CASE("tftp delivery: a node that outlived its lease never leaves older facts in the file") {
    test::TestDatabase db;
    test::Repositories repo{*db.pool};
    storage::DeliveryRepository outbox{*db.pool};
    const std::string name = "SEP00112233AA01";
    const std::string old_md5(32, 'a'), new_md5(32, 'b');
    repo.devices.add_device(
        storage::DeviceSettings{name, "", storage::AuthMode::null_string, "rsa-2048"},
        test::admin_actor);
    install(repo, name, certificate("01", old_md5));

    const auto dir = std::filesystem::temp_directory_path() /
                     ("capf-lease-" + std::to_string(::getpid()) + "-" +
                      std::to_string(std::chrono::steady_clock::now().time_since_epoch().count()));
    std::filesystem::create_directories(dir);
    FileWrites writes;
    asio::io_context io;
    BlockingPool pool(4);
    // Node A stalls 3 s in its first delivery; the lease is 2 s.
    tftp::Encryptors a_encryptors, b_encryptors;
    auto stall = std::make_unique<StallOnce>(3000ms);
    const StallOnce& a_stall = *stall;
    a_encryptors.push_back(std::move(stall));
    a_encryptors.push_back(std::make_unique<Md5FileWriter>(dir, "node-a", writes));
    b_encryptors.push_back(std::make_unique<Md5FileWriter>(dir, "node-b", writes));
    auto settings = [](const std::string& node) {
        tftp::DeliverySettings s;
        s.node = node;
        s.lease = 2s;
        s.retry_first = 1s;
        s.retry_max = 1s;
        s.idle_poll = 50ms;
        return s;
    };
    tftp::DeliveryWorker a(settings("node-a"), outbox, a_encryptors, pool);
    tftp::DeliveryWorker b(settings("node-b"), outbox, b_encryptors, pool);
    asio::co_spawn(io, a.run(), asio::detached);
    std::thread runner([&io] {
        const auto guard = asio::make_work_guard(io);
        io.run();
    });
    auto wait_until = [](auto condition, std::chrono::seconds limit) {
        const auto deadline = std::chrono::steady_clock::now() + limit;
        while (!condition() && std::chrono::steady_clock::now() < deadline)
            std::this_thread::sleep_for(20ms);
        return condition();
    };
    // A holds the old facts; the phone then confirms a new LSC.
    REQUIRE(wait_until([&] { return a_stall.started(); }, 10s));
    install(repo, name, certificate("02", new_md5));
    asio::co_spawn(io, b.run(), asio::detached);
    // Until A is back and the outbox has stayed empty for longer than a
    // lease (a delivery queued again would show).
    const auto settled = [&] {
        if (!a_stall.finished() || undelivered(db) != 0)
            return false;
        std::this_thread::sleep_for(2500ms);
        return undelivered(db) == 0;
    };
    const bool done = wait_until(settled, 30s);
    io.stop();
    runner.join();
    pool.stop();

    const std::string in_file = read_text(dir / (name + ".md5"));
    std::filesystem::remove_all(dir);
    REQUIRE(done);
    std::string sequence;
    for (const auto& [node, md5] : writes.copy())
        sequence += node + (md5 == old_md5 ? " wrote the old MD5; " : " wrote the new MD5; ");
    INFO(sequence);
    CHECK(in_file == new_md5);
    // Whoever wrote last wrote the newest facts.
    REQUIRE_FALSE(writes.copy().empty());
    CHECK(writes.copy().back().second == new_md5);
    // A found its lease lost and queued the device again.
    CHECK(a.counters().lease_lost.load() == 1);
}

// ---- issue 32, item 4: delivery work in proportion to the change ----

namespace {

/// Counts its deliveries; fails (or fails permanently) while told to.
class CountingEncryptor : public tftp::Encryptor {
  public:
    CountingEncryptor(std::string name, tftp::EncryptorScope scope)
        : name_(std::move(name)), scope_(scope) {}
    std::string_view name() const override { return name_; }
    tftp::EncryptorScope scope() const override { return scope_; }
    void deliver(const storage::DeviceFacts&, storage::DeliveryChange,
                 const tftp::LeaseGuard&) override {
        work();
    }
    void deliver_fleet(const tftp::LeaseGuard&) override { work(); }
    bool parked_cause_cleared(const std::string&, tftp::ParkCause cause) const override {
        return cause == tftp::ParkCause::no_source_file && source_appeared;
    }

    std::atomic<int> calls{0};
    std::atomic<int> failures_left{0};
    std::atomic<bool> missing_source{false};
    std::atomic<bool> source_appeared{false};

  private:
    void work() {
        ++calls;
        if (missing_source && !source_appeared)
            throw tftp::EncryptorError(tftp::ParkCause::no_source_file, "no source file");
        if (failures_left > 0) {
            --failures_left;
            throw tftp::EncryptorError("exited with status 3");
        }
    }
    std::string name_;
    tftp::EncryptorScope scope_;
};

/// One worker on its own io_context thread, stopped at the end of the scope.
struct RunningWorker {
    asio::io_context io;
    BlockingPool pool{2};
    tftp::DeliveryWorker worker;
    std::thread runner;
    RunningWorker(storage::DeliveryRepository& outbox, tftp::Encryptors& encryptors,
                  tftp::DeliverySettings settings)
        : worker(std::move(settings), outbox, encryptors, pool) {
        asio::co_spawn(io, worker.run(), asio::detached);
        runner = std::thread([this] {
            const auto guard = asio::make_work_guard(io);
            io.run();
        });
    }
    ~RunningWorker() {
        io.stop();
        runner.join();
        pool.stop();
    }
};

tftp::DeliverySettings quick_settings() {
    tftp::DeliverySettings s;
    s.node = "node-a";
    s.lease = 60s;
    s.retry_first = 1s;
    s.retry_max = 1s;
    s.idle_poll = 50ms;
    s.parked_recheck = 200ms;
    return s;
}

template <typename Condition>
bool eventually(Condition condition, std::chrono::seconds limit = 20s) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (!condition() && std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(20ms);
    return condition();
}

void add_devices(storage::Devices& devices, int count) {
    for (int i = 0; i < count; ++i) {
        devices.add_device(storage::DeviceSettings{"SEP0011223355" + std::to_string(10 + i), "",
                                                   storage::AuthMode::null_string, "rsa-2048"},
                           test::admin_actor);
    }
}

}  // namespace

TEST_CASE("tftp delivery: a retry runs only the encryptor that failed") {
    test::TestDatabase db;
    test::Repositories repo{*db.pool};
    storage::DeliveryRepository outbox{*db.pool};
    add_devices(repo.devices, 1);
    outbox.request_delivery_all(test::admin_actor);
    tftp::Encryptors encryptors;
    encryptors.push_back(
        std::make_unique<CountingEncryptor>("steady", tftp::EncryptorScope::device));
    encryptors.push_back(
        std::make_unique<CountingEncryptor>("flaky", tftp::EncryptorScope::device));
    encryptors.push_back(
        std::make_unique<CountingEncryptor>("export", tftp::EncryptorScope::fleet));
    auto& steady = static_cast<CountingEncryptor&>(*encryptors[0]);
    auto& flaky = static_cast<CountingEncryptor&>(*encryptors[1]);
    auto& fleet = static_cast<CountingEncryptor&>(*encryptors[2]);
    flaky.failures_left = 2;
    {
        RunningWorker running(outbox, encryptors, quick_settings());
        REQUIRE(eventually([&] { return flaky.calls == 3 && undelivered(db) == 0; }));
        std::this_thread::sleep_for(300ms);
        CHECK(running.worker.counters().failed.load() == 2);
        CHECK(running.worker.counters().delivered.load() == 1);
    }
    CHECK(steady.calls == 1);  // not run again for flaky's two failures
    CHECK(fleet.calls == 1);
    CHECK(flaky.calls == 3);
}

TEST_CASE("tftp delivery: a fleet-wide encryptor runs once for a whole batch of devices") {
    test::TestDatabase db;
    test::Repositories repo{*db.pool};
    storage::DeliveryRepository outbox{*db.pool};
    add_devices(repo.devices, 20);
    outbox.request_delivery_all(test::admin_actor);
    tftp::Encryptors encryptors;
    encryptors.push_back(
        std::make_unique<CountingEncryptor>("export", tftp::EncryptorScope::fleet));
    encryptors.push_back(
        std::make_unique<CountingEncryptor>("per-device", tftp::EncryptorScope::device));
    encryptors.push_back(
        std::make_unique<CountingEncryptor>("export", tftp::EncryptorScope::fleet));
    auto& first_export = static_cast<CountingEncryptor&>(*encryptors[0]);
    auto& per_device = static_cast<CountingEncryptor&>(*encryptors[1]);
    auto& second_export = static_cast<CountingEncryptor&>(*encryptors[2]);
    {
        auto settings = quick_settings();
        settings.batch = 8;  // 20 devices: three batches
        RunningWorker running(outbox, encryptors, settings);
        CHECK(running.worker.keys() ==
              std::vector<std::string>{"export", "per-device", "export#2"});
        REQUIRE(eventually([&] { return undelivered(db) == 0; }));
    }
    CHECK(per_device.calls == 20);
    CHECK(first_export.calls == 3);
    CHECK(second_export.calls == 3);
}

TEST_CASE("tftp delivery: a permanent failure is parked, not retried, and retried when it clears") {
    test::TestDatabase db;
    test::Repositories repo{*db.pool};
    storage::DeliveryRepository outbox{*db.pool};
    add_devices(repo.devices, 1);
    outbox.request_delivery_all(test::admin_actor);
    tftp::Encryptors encryptors;
    encryptors.push_back(
        std::make_unique<CountingEncryptor>("picky", tftp::EncryptorScope::device));
    encryptors.push_back(
        std::make_unique<CountingEncryptor>("steady", tftp::EncryptorScope::device));
    auto& picky = static_cast<CountingEncryptor&>(*encryptors[0]);
    auto& steady = static_cast<CountingEncryptor&>(*encryptors[1]);
    picky.missing_source = true;
    RunningWorker running(outbox, encryptors, quick_settings());
    REQUIRE(
        eventually([&] { return outbox.delivery_stats().parked == 1 && undelivered(db) == 0; }));
    // Retries are 1 s apart: three seconds would show several.
    std::this_thread::sleep_for(3s);
    CHECK(picky.calls == 1);
    CHECK(steady.calls == 1);
    const auto parked = outbox.parked_deliveries({}, "", "", 10);
    REQUIRE(parked.size() == 1);
    CHECK(parked[0].encryptor == "picky");
    CHECK(parked[0].cause == "no-source-file");
    CHECK(running.worker.counters().parked.load() == 1);

    picky.source_appeared = true;  // seen at the next recheck (200 ms)
    REQUIRE(eventually([&] { return outbox.delivery_stats().parked == 0; }));
    CHECK(eventually([&] { return undelivered(db) == 0; }));
    CHECK(picky.calls == 2);
    CHECK(steady.calls == 1);  // owed to picky alone
    CHECK(running.worker.counters().unparked.load() == 1);
}

}  // namespace tftp_delivery_worker_test_cases
