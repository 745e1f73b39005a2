#include "capf/common/blocking_pool.hpp"

#include <asio/co_spawn.hpp>
#include <asio/io_context.hpp>
#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <exception>
#include <functional>
#include <future>
#include <optional>
#include <stdexcept>
#include <thread>

// The file's own namespace: the suite is compiled in unity batches, and its
// file-local names must not meet another file's.
namespace blocking_pool_test_cases {

using namespace capf;

namespace {

/// Runs the context's ready handlers until `done` holds (or fails after 10 s).
void poll_until(asio::io_context& ctx, const std::function<bool()>& done) {
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (!done()) {
        REQUIRE(std::chrono::steady_clock::now() < give_up);
        ctx.restart();
        ctx.poll();
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
}

/// The outcome of one awaited job: its value or what it threw.
struct Outcome {
    std::optional<int> value;
    std::exception_ptr error;
    bool done = false;
};

template <typename Awaitable>
void spawn(asio::io_context& ctx, Awaitable job, Outcome& out) {
    asio::co_spawn(ctx, std::move(job), [&out](std::exception_ptr e, int v) {
        out.done = true;
        out.error = e;
        if (!e)
            out.value = v;
    });
}

}  // namespace

TEST_CASE(
    "blocking pool: admit refuses when the queue is full, run does not, counts return to zero") {
    asio::io_context ctx;
    BlockingPool pool(1, 2);
    std::promise<void> release;
    std::shared_future<void> released = release.get_future().share();

    Outcome blocker, first, second, refused, unbounded;
    spawn(ctx, pool.run([released] {
        released.wait();
        return 1;
    }),
          blocker);
    poll_until(ctx, [&] { return pool.running() == 1; });

    spawn(ctx, pool.admit([] { return 2; }), first);
    spawn(ctx, pool.admit([] { return 3; }), second);
    poll_until(ctx, [&] { return pool.queued() == 2; });

    spawn(ctx, pool.admit([] { return 4; }), refused);
    poll_until(ctx, [&] { return refused.done; });
    REQUIRE(refused.error);
    CHECK_THROWS_MATCHES(std::rethrow_exception(refused.error), PoolBusy,
                         Catch::Predicate<PoolBusy>(
                             [](const PoolBusy& e) { return e.queued() == 2 && e.limit() == 2; }));
    CHECK_THROWS_WITH(std::rethrow_exception(refused.error),
                      Catch::Contains("2 jobs queued") && Catch::Contains("limit 2"));
    CHECK(pool.queued() == 2);

    spawn(ctx, pool.run([] { return 5; }), unbounded);
    poll_until(ctx, [&] { return pool.queued() == 3; });
    CHECK_FALSE(unbounded.done);

    release.set_value();
    poll_until(ctx, [&] { return blocker.done && first.done && second.done && unbounded.done; });
    CHECK(blocker.value == 1);
    CHECK(first.value == 2);
    CHECK(second.value == 3);
    CHECK(unbounded.value == 5);
    CHECK(pool.queued() == 0);
    CHECK(pool.running() == 0);

    Outcome again;
    spawn(ctx, pool.admit([] { return 6; }), again);
    poll_until(ctx, [&] { return again.done; });
    CHECK(again.value == 6);
}

TEST_CASE("blocking pool: what a job throws reaches the awaiting coroutine and frees its slot") {
    asio::io_context ctx;
    BlockingPool pool(1, 1);
    Outcome via_run, via_admit;
    spawn(ctx, pool.run([]() -> int { throw std::logic_error("run failed"); }), via_run);
    poll_until(ctx, [&] { return via_run.done; });
    spawn(ctx, pool.admit([]() -> int { throw std::logic_error("admit failed"); }), via_admit);
    poll_until(ctx, [&] { return via_admit.done; });
    CHECK_THROWS_WITH(std::rethrow_exception(via_run.error), "run failed");
    CHECK_THROWS_WITH(std::rethrow_exception(via_admit.error), "admit failed");
    CHECK(pool.queued() == 0);
    CHECK(pool.running() == 0);
}

// Issue 13: jobs are posted as plain functions, not spawned coroutines; what
// the caller awaits is unchanged.
TEST_CASE("blocking pool: a job runs on a pool thread and its caller resumes on its own executor") {
    asio::io_context ctx;
    BlockingPool pool(2, 4);
    std::thread::id job_thread, resumed_on;
    std::unique_ptr<int> moved;
    bool void_ran = false, done = false;
    const auto io_thread = std::this_thread::get_id();
    asio::co_spawn(
        ctx,
        [&]() -> asio::awaitable<void> {
            job_thread = co_await pool.run([] { return std::this_thread::get_id(); });
            resumed_on = std::this_thread::get_id();
            moved = co_await pool.run([] { return std::make_unique<int>(42); });  // move-only
            co_await pool.run([&] { void_ran = true; });
        },
        [&](std::exception_ptr e) {
            CHECK_FALSE(e);
            done = true;
        });
    poll_until(ctx, [&] { return done; });
    CHECK(job_thread != io_thread);
    CHECK(resumed_on == io_thread);
    REQUIRE(moved);
    CHECK(*moved == 42);
    CHECK(void_ran);
    CHECK(pool.completed() == 3);
    CHECK(pool.running() == 0);
    CHECK(pool.queued() == 0);
}

// capfd's shutdown joins the pool before destroying what jobs use: join()
// must not return while a job runs or waits in the queue.
TEST_CASE("blocking pool: join() returns only after the running and the queued jobs have run") {
    asio::io_context ctx;
    BlockingPool pool(1, 4);
    std::promise<void> release;
    std::shared_future<void> released = release.get_future().share();
    std::atomic<int> ran{0};
    Outcome running, queued;
    spawn(ctx, pool.run([released, &ran] {
        released.wait();
        ++ran;
        return 1;
    }),
          running);
    spawn(ctx, pool.run([&ran] {
        ++ran;
        return 2;
    }),
          queued);
    poll_until(ctx, [&] { return pool.running() == 1 && pool.queued() == 1; });
    std::thread releaser([&release] {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        release.set_value();
    });
    pool.join();
    CHECK(ran == 2);
    releaser.join();
    // The results wait on the callers' executor, delivered if it runs again.
    CHECK_FALSE(running.done);
    poll_until(ctx, [&] { return running.done && queued.done; });
    CHECK(running.value == 1);
    CHECK(queued.value == 2);
}

}  // namespace blocking_pool_test_cases
