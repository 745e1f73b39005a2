// A bounded pool of threads for work that blocks (database calls, private-key
// operations), awaited from coroutines so I/O threads never block.
#pragma once

#include <asio/awaitable.hpp>
#include <asio/co_spawn.hpp>
#include <asio/thread_pool.hpp>
#include <asio/use_awaitable.hpp>
#include <cstddef>
#include <type_traits>

namespace capf {

class BlockingPool {
  public:
    explicit BlockingPool(std::size_t threads) : pool_(threads) {}
    BlockingPool(const BlockingPool&) = delete;
    BlockingPool& operator=(const BlockingPool&) = delete;
    /// Waits for queued work to finish.
    ~BlockingPool() { pool_.join(); }

    /// Runs `fn` on a pool thread and resumes the caller on its own executor
    /// with the result, or rethrows what `fn` threw.
    template <typename F>
    asio::awaitable<std::invoke_result_t<F>> run(F fn) {
        using R = std::invoke_result_t<F>;
        // Named, not a temporary inside the co_await expression: GCC 12
        // destroys such temporaries twice (a double free under ASan).
        auto task = [fn = std::move(fn)]() mutable -> asio::awaitable<R> {
            if constexpr (std::is_void_v<R>) {
                fn();
                co_return;
            } else {
                co_return fn();
            }
        };
        co_return co_await asio::co_spawn(pool_.get_executor(), std::move(task),
                                          asio::use_awaitable);
    }

    /// For posting fire-and-forget blocking work.
    asio::thread_pool::executor_type executor() noexcept { return pool_.get_executor(); }

    /// Abandons queued work and joins the threads.
    void stop() {
        pool_.stop();
        pool_.join();
    }

  private:
    asio::thread_pool pool_;
};

}  // namespace capf
