// A bounded pool of threads for work that blocks (database calls, private-key
// operations), awaited from coroutines so I/O threads never block.
#pragma once

#include <asio/associated_executor.hpp>
#include <asio/async_result.hpp>
#include <asio/awaitable.hpp>
#include <asio/post.hpp>
#include <asio/thread_pool.hpp>
#include <asio/use_awaitable.hpp>
#include <atomic>
#include <cstddef>
#include <exception>
#include <optional>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <variant>

namespace capf {

/// BlockingPool::admit() found the queue full: the caller (a new phone
/// session) is refused instead of waiting behind work that may not finish
/// for a long time.
class PoolBusy : public std::runtime_error {
  public:
    PoolBusy(std::size_t queued, std::size_t limit)
        : std::runtime_error("blocking pool busy: " + std::to_string(queued) +
                             " jobs queued, limit " + std::to_string(limit)),
          queued_(queued),
          limit_(limit) {}
    std::size_t queued() const noexcept { return queued_; }
    std::size_t limit() const noexcept { return limit_; }

  private:
    std::size_t queued_;
    std::size_t limit_;
};

class BlockingPool {
  public:
    /// `threads` run jobs; at most `max_queued` jobs may wait for a thread
    /// before admit() refuses more (run() never refuses).
    explicit BlockingPool(std::size_t threads, std::size_t max_queued = 1024)
        : pool_(threads), max_queued_(max_queued) {}
    BlockingPool(const BlockingPool&) = delete;
    BlockingPool& operator=(const BlockingPool&) = delete;
    /// Waits for queued work to finish.
    ~BlockingPool() { pool_.join(); }

    /// Runs `fn` on a pool thread and resumes the caller on its own executor
    /// with the result, or rethrows what `fn` threw. Never refuses: for work
    /// of sessions already admitted, which must be able to record their
    /// outcome however busy the pool is.
    template <typename F>
    asio::awaitable<std::invoke_result_t<F>> run(F fn) {
        queued_.fetch_add(1, std::memory_order_relaxed);
        // Named for the same GCC 12 reason as in submit().
        auto job = submit(std::move(fn));
        co_return co_await std::move(job);
    }

    /// Like run(), but throws PoolBusy instead of queueing when `max_queued`
    /// jobs are already waiting for a thread. For the first blocking call of
    /// a new session, so overload refuses sessions instead of growing the
    /// queue without limit.
    template <typename F>
    asio::awaitable<std::invoke_result_t<F>> admit(F fn) {
        std::size_t queued = queued_.load(std::memory_order_relaxed);
        do {
            if (queued >= max_queued_) {
                throw PoolBusy(queued, max_queued_);
            }
        } while (!queued_.compare_exchange_weak(queued, queued + 1, std::memory_order_relaxed));
        auto job = submit(std::move(fn));
        co_return co_await std::move(job);
    }

    /// Jobs submitted and not yet started.
    std::size_t queued() const noexcept { return queued_.load(std::memory_order_relaxed); }
    /// Jobs running on a pool thread now.
    std::size_t running() const noexcept { return running_.load(std::memory_order_relaxed); }
    /// Jobs finished since the pool was made (trips to the pool).
    std::size_t completed() const noexcept { return completed_.load(std::memory_order_relaxed); }
    std::size_t max_queued() const noexcept { return max_queued_; }

    /// For posting fire-and-forget blocking work (not counted).
    asio::thread_pool::executor_type executor() noexcept { return pool_.get_executor(); }

    /// Runs the jobs still queued, waits for them and for those running, and
    /// joins the threads. For shutdown, once nothing submits more: call it
    /// before destroying anything a job uses (its result is posted to a
    /// caller's executor that may no longer run; the caller never resumes).
    void join() { pool_.join(); }

    /// Abandons queued work and joins the threads.
    void stop() {
        pool_.stop();
        pool_.join();
    }

  private:
    /// Moves a job counted in queued_ to running_ for as long as it runs.
    class RunningGuard {
      public:
        explicit RunningGuard(BlockingPool& pool) : pool_(pool) {
            pool_.running_.fetch_add(1, std::memory_order_relaxed);
            pool_.queued_.fetch_sub(1, std::memory_order_relaxed);
        }
        RunningGuard(const RunningGuard&) = delete;
        RunningGuard& operator=(const RunningGuard&) = delete;
        ~RunningGuard() {
            pool_.running_.fetch_sub(1, std::memory_order_relaxed);
            pool_.completed_.fetch_add(1, std::memory_order_relaxed);
        }

      private:
        BlockingPool& pool_;
    };

    /// What a job hands back to its caller: its value (none for void) or
    /// what it threw.
    template <typename R>
    using Outcome = std::optional<std::conditional_t<std::is_void_v<R>, std::monostate, R>>;

    /// Runs a job already counted in queued_: posted to the pool as a plain
    /// function, its outcome posted back to the caller's executor. No
    /// coroutine is spawned for the job: a profile of installs put that
    /// machinery (a frame, an executor and a cancellation slot per job)
    /// among the larger costs of a pool trip.
    template <typename F>
    asio::awaitable<std::invoke_result_t<F>> submit(F fn) {
        using R = std::invoke_result_t<F>;
        // Named, not a temporary inside the co_await expression: GCC 12
        // destroys such temporaries twice (a double free under ASan).
        auto job = asio::async_initiate<const asio::use_awaitable_t<>&,
                                        void(std::exception_ptr, Outcome<R>)>(
            [this](auto handler, F f) { this->post_job(std::move(handler), std::move(f)); },
            asio::use_awaitable, std::move(fn));
        Outcome<R> outcome = co_await std::move(job);
        if constexpr (!std::is_void_v<R>) {
            co_return std::move(*outcome);
        }
    }

    template <typename Handler, typename F>
    void post_job(Handler handler, F fn) {
        using R = std::invoke_result_t<F>;
        // Keeps the caller's executor (and its io_context) working until
        // the outcome is delivered there.
        auto caller = asio::prefer(asio::get_associated_executor(handler),
                                   asio::execution::outstanding_work.tracked);
        asio::post(pool_, [this, fn = std::move(fn), handler = std::move(handler),
                           caller = std::move(caller)]() mutable {
            std::exception_ptr error;
            Outcome<R> outcome;
            try {
                RunningGuard running(*this);
                if constexpr (std::is_void_v<R>) {
                    fn();
                    outcome.emplace();
                } else {
                    outcome.emplace(fn());
                }
            } catch (...) {
                error = std::current_exception();
            }
            asio::post(caller, [handler = std::move(handler), error,
                                outcome = std::move(outcome)]() mutable {
                std::move(handler)(error, std::move(outcome));
            });
        });
    }

    asio::thread_pool pool_;
    std::size_t max_queued_;
    std::atomic<std::size_t> queued_{0};
    std::atomic<std::size_t> running_{0};
    std::atomic<std::size_t> completed_{0};
};

}  // namespace capf
