// The delivery worker (capf/tftp/delivery_worker) against a real outbox:
// a batch is claimed under one lease and delivered device after device, so
// past half the lease the rest is left for a later round. Without that, a
// slow encryptor outlives the lease and another node delivers the same
// devices again (two nodes under load delivered 21 of 200 twice).
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>
#include <catch2/catch.hpp>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "capf/common/blocking_pool.hpp"
#include "capf/tftp/delivery_worker.hpp"
#include "storage/delivery_repository.hpp"
#include "storage/devices.hpp"
#include "tests/storage/pg_test_support.hpp"

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
    void deliver(const storage::DeviceFacts& facts, storage::DeliveryChange) override {
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
