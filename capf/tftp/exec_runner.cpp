#include "capf/tftp/exec_runner.hpp"

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <string_view>
#include <system_error>
#include <utility>

namespace capf::tftp {

namespace {

using Clock = std::chrono::steady_clock;

/// Without a pidfd, how often the program's exit is checked for.
constexpr std::chrono::milliseconds exit_check_interval{50};
/// The most written to the program's stdin in one write().
constexpr std::size_t stdin_chunk = 64 * 1024;

std::string reason_of(int error_number) {
    return std::system_category().message(error_number);
}

[[noreturn]] void throw_cannot_start(const ProgramRun& run, std::string_view step,
                                     int error_number) {
    const std::string program = run.argv.empty() ? std::string("(empty argv)") : run.argv.front();
    throw EncryptorError("cannot start program '" + program + "': " + std::string(step) +
                         reason_of(error_number));
}

class UniqueFd {
  public:
    UniqueFd() = default;
    explicit UniqueFd(int fd) : fd_(fd) {}
    UniqueFd(UniqueFd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
    UniqueFd& operator=(UniqueFd&& other) noexcept {
        if (this != &other) {
            reset();
            fd_ = std::exchange(other.fd_, -1);
        }
        return *this;
    }
    UniqueFd(const UniqueFd&) = delete;
    UniqueFd& operator=(const UniqueFd&) = delete;
    ~UniqueFd() { reset(); }

    int get() const noexcept { return fd_; }
    bool is_open() const noexcept { return fd_ >= 0; }
    void reset() noexcept {
        if (fd_ >= 0) {
            ::close(fd_);
            fd_ = -1;
        }
    }

  private:
    int fd_ = -1;
};

struct Pipe {
    UniqueFd read_end;
    UniqueFd write_end;
};

/// A close-on-exec pipe whose ends are both above 2, so that dup2() onto
/// the child's 0, 1 and 2 always makes a fresh descriptor (dup2 of a
/// descriptor onto itself would keep close-on-exec set).
Pipe make_pipe(const ProgramRun& run) {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) {
        throw_cannot_start(run, "pipe: ", errno);
    }
    Pipe pipe{UniqueFd(fds[0]), UniqueFd(fds[1])};
    for (UniqueFd* end : {&pipe.read_end, &pipe.write_end}) {
        if (end->get() <= STDERR_FILENO) {
            const int moved = ::fcntl(end->get(), F_DUPFD_CLOEXEC, STDERR_FILENO + 1);
            if (moved < 0) {
                throw_cannot_start(run, "fcntl: ", errno);
            }
            *end = UniqueFd(moved);
        }
    }
    return pipe;
}

void set_nonblocking(int fd) {
    const int flags = ::fcntl(fd, F_GETFL);
    ::fcntl(fd, F_SETFL, flags | O_NONBLOCK);
}

/// Writing to a pipe whose reader is gone raises SIGPIPE, which would end
/// the whole service: blocked in this thread while the program runs, and a
/// SIGPIPE it caused is consumed before the old mask comes back.
class SigpipeBlocked {
  public:
    SigpipeBlocked() {
        sigemptyset(&sigpipe_);
        sigaddset(&sigpipe_, SIGPIPE);
        sigset_t pending;
        sigpending(&pending);
        was_pending_ = sigismember(&pending, SIGPIPE) == 1;
        pthread_sigmask(SIG_BLOCK, &sigpipe_, &old_mask_);
    }
    SigpipeBlocked(const SigpipeBlocked&) = delete;
    SigpipeBlocked& operator=(const SigpipeBlocked&) = delete;
    ~SigpipeBlocked() {
        sigset_t pending;
        sigpending(&pending);
        if (!was_pending_ && sigismember(&pending, SIGPIPE) == 1) {
            const timespec no_wait{};
            sigtimedwait(&sigpipe_, nullptr, &no_wait);
        }
        pthread_sigmask(SIG_SETMASK, &old_mask_, nullptr);
    }

  private:
    sigset_t sigpipe_{};
    sigset_t old_mask_{};
    bool was_pending_ = false;
};

/// posix_spawn's attributes and file actions, destroyed on every path.
class SpawnSetup {
  public:
    SpawnSetup(const Pipe& stdin_pipe, const Pipe& output_pipe) {
        posix_spawn_file_actions_init(&actions_);
        posix_spawnattr_init(&attributes_);
        posix_spawn_file_actions_adddup2(&actions_, stdin_pipe.read_end.get(), STDIN_FILENO);
        posix_spawn_file_actions_adddup2(&actions_, output_pipe.write_end.get(), STDOUT_FILENO);
        posix_spawn_file_actions_adddup2(&actions_, output_pipe.write_end.get(), STDERR_FILENO);
        // Descriptors other threads opened without close-on-exec too.
        posix_spawn_file_actions_addclosefrom_np(&actions_, STDERR_FILENO + 1);

        sigset_t none;
        sigemptyset(&none);
        sigset_t all;
        sigfillset(&all);
        posix_spawnattr_setsigmask(&attributes_, &none);
        posix_spawnattr_setsigdefault(&attributes_, &all);
        posix_spawnattr_setpgroup(&attributes_, 0);  // its own group, killed as one
        posix_spawnattr_setflags(
            &attributes_, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    }
    SpawnSetup(const SpawnSetup&) = delete;
    SpawnSetup& operator=(const SpawnSetup&) = delete;
    ~SpawnSetup() {
        posix_spawnattr_destroy(&attributes_);
        posix_spawn_file_actions_destroy(&actions_);
    }
    const posix_spawn_file_actions_t* actions() const { return &actions_; }
    const posix_spawnattr_t* attributes() const { return &attributes_; }

  private:
    posix_spawn_file_actions_t actions_{};
    posix_spawnattr_t attributes_{};
};

std::vector<char*> c_strings(const std::vector<std::string>& strings) {
    std::vector<char*> pointers;
    pointers.reserve(strings.size() + 1);
    for (const std::string& s : strings) {
        pointers.push_back(const_cast<char*>(s.c_str()));
    }
    pointers.push_back(nullptr);
    return pointers;
}

/// A descriptor that becomes readable when the process exits; not open
/// when the kernel has none (before Linux 5.3). By system call: glibc 2.36's
/// <sys/pidfd.h> lacks the C linkage that C++ needs.
UniqueFd open_pidfd(pid_t pid) {
    return UniqueFd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
}

struct Spawned {
    pid_t pid = -1;
    UniqueFd pidfd;  ///< not open when the kernel has no pidfd_open
    UniqueFd stdin_fd;
    UniqueFd output_fd;
};

Spawned spawn_program(const ProgramRun& run) {
    if (run.argv.empty() || run.argv.front().empty()) {
        throw_cannot_start(run, "", EINVAL);
    }
    Pipe stdin_pipe = make_pipe(run);
    Pipe output_pipe = make_pipe(run);
    const SpawnSetup setup(stdin_pipe, output_pipe);
    std::vector<char*> argv = c_strings(run.argv);
    std::vector<char*> envp = c_strings(run.environment);
    Spawned spawned;
    const int error = ::posix_spawn(&spawned.pid, argv[0], setup.actions(), setup.attributes(),
                                    argv.data(), envp.data());
    if (error != 0) {
        throw_cannot_start(run, "", error);
    }
    spawned.pidfd = open_pidfd(spawned.pid);
    spawned.stdin_fd = std::move(stdin_pipe.write_end);
    spawned.output_fd = std::move(output_pipe.read_end);
    set_nonblocking(spawned.stdin_fd.get());
    set_nonblocking(spawned.output_fd.get());
    return spawned;  // the child's ends close here, so EOF means the program closed them
}

/// One running program: feeds its stdin, drains its output, watches for its
/// exit, and ends its process group.
class RunningProgram {
  public:
    RunningProgram(const ProgramRun& run, Spawned spawned)
        : spawned_(std::move(spawned)), pending_stdin_(run.stdin_data) {
        if (pending_stdin_.empty()) {
            spawned_.stdin_fd.reset();
        }
    }
    RunningProgram(const RunningProgram&) = delete;
    RunningProgram& operator=(const RunningProgram&) = delete;
    ~RunningProgram() {
        if (!reaped_) {  // only when something threw: leave nothing behind
            ::kill(-spawned_.pid, SIGKILL);
            int status = 0;
            ::waitpid(spawned_.pid, &status, 0);
        }
    }

    /// Feeds and drains until the program exits (true) or `until` passes.
    bool run_until(Clock::time_point until) {
        while (!has_exited()) {
            const auto now = Clock::now();
            if (now >= until) {
                return false;
            }
            pump(until - now);
        }
        return true;
    }

    /// The program exited: whatever it left in its group is ended too.
    void end_leftovers() {
        drain_output(Clock::now());
        if (spawned_.output_fd.is_open()) {  // someone else still holds the output
            ::kill(-spawned_.pid, SIGTERM);
            const auto grace_end = Clock::now() + program_termination_grace;
            while (spawned_.output_fd.is_open() && Clock::now() < grace_end) {
                pump(grace_end - Clock::now());
            }
        }
        ::kill(-spawned_.pid, SIGKILL);
    }

    /// The deadline passed: SIGTERM, the grace, then SIGKILL, to the group.
    void terminate() {
        ::kill(-spawned_.pid, SIGTERM);
        run_until(Clock::now() + program_termination_grace);
        ::kill(-spawned_.pid, SIGKILL);
    }

    /// Waits for the (exited or killed) program and fills `result`.
    void reap(ProgramResult& result) {
        int status = 0;
        while (::waitpid(spawned_.pid, &status, 0) < 0 && errno == EINTR) {
        }
        reaped_ = true;
        // What is left in the pipe, for the grace at most: a writer outside
        // the process group (it left it with setsid) is not waited for.
        drain_output(Clock::now() + program_termination_grace);
        spawned_.output_fd.reset();
        if (WIFEXITED(status)) {
            result.exit_code = WEXITSTATUS(status);
        } else if (WIFSIGNALED(status)) {
            result.signal = WTERMSIG(status);
        }
        result.output_excerpt = std::move(excerpt_);
    }

  private:
    /// Exited but not reaped: the zombie keeps its pid and process group
    /// from being reused until the group has been signalled.
    bool has_exited() {
        if (!exited_) {
            siginfo_t info{};
            const int rc = ::waitid(P_PID, static_cast<id_t>(spawned_.pid), &info,
                                    WEXITED | WNOHANG | WNOWAIT);
            exited_ = rc == 0 && info.si_pid != 0;
        }
        return exited_;
    }

    void pump(Clock::duration budget) {
        auto wait = std::chrono::ceil<std::chrono::milliseconds>(budget);
        if (!exited_ && !spawned_.pidfd.is_open()) {
            wait = std::min(wait, exit_check_interval);
        }
        // A zombie's pidfd stays readable: watched only until the exit.
        pollfd fds[3] = {
            {spawned_.stdin_fd.get(), POLLOUT, 0},
            {spawned_.output_fd.get(), POLLIN, 0},
            {exited_ ? -1 : spawned_.pidfd.get(), POLLIN, 0},
        };
        if (::poll(fds, 3, static_cast<int>(std::max<std::int64_t>(wait.count(), 0))) <= 0) {
            return;  // timeout or EINTR: the caller checks the clock and the exit
        }
        if (fds[0].revents != 0) {
            feed_stdin();
        }
        if (fds[1].revents != 0) {
            drain_output(Clock::now() + budget);
        }
    }

    void feed_stdin() {
        const std::size_t length = std::min(pending_stdin_.size(), stdin_chunk);
        const ssize_t written = ::write(spawned_.stdin_fd.get(), pending_stdin_.data(), length);
        if (written > 0) {
            pending_stdin_.remove_prefix(static_cast<std::size_t>(written));
        } else if (written < 0 && (errno == EAGAIN || errno == EINTR)) {
            return;
        } else {
            pending_stdin_ = {};  // EPIPE: it stopped reading; its exit status decides
        }
        if (pending_stdin_.empty()) {
            spawned_.stdin_fd.reset();
        }
    }

    /// Reads what is there now, until `until` at the latest (a program that
    /// writes without pause keeps the pipe readable: reading until it is
    /// empty would outlast any deadline); at least one read. Closes the
    /// output at EOF or on error.
    void drain_output(Clock::time_point until) {
        char buffer[16 * 1024];
        for (bool first = true; spawned_.output_fd.is_open(); first = false) {
            if (!first && Clock::now() >= until)
                return;
            const ssize_t n = ::read(spawned_.output_fd.get(), buffer, sizeof buffer);
            if (n > 0) {
                const std::size_t room = program_output_excerpt_limit - excerpt_.size();
                excerpt_.append(buffer, std::min(room, static_cast<std::size_t>(n)));
            } else if (n < 0 && errno == EINTR) {
                continue;
            } else if (n < 0 && errno == EAGAIN) {
                return;
            } else {
                spawned_.output_fd.reset();
            }
        }
    }

    Spawned spawned_;
    std::string_view pending_stdin_;
    std::string excerpt_;
    bool exited_ = false;
    bool reaped_ = false;
};

}  // namespace

ProgramResult run_program(const ProgramRun& run) {
    const auto deadline = Clock::now() + run.timeout;
    const SigpipeBlocked no_sigpipe;
    RunningProgram program(run, spawn_program(run));
    ProgramResult result;
    if (program.run_until(deadline)) {
        program.end_leftovers();
    } else {
        result.timed_out = true;
        program.terminate();
    }
    program.reap(result);
    return result;
}

}  // namespace capf::tftp
