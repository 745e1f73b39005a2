// The program runner's output drain honours the deadline (issue 32): the
// drain used to read "until the pipe is empty", with no clock, so only the
// writers' speed bounded it. It now stops at the deadline; these runs
// stress it with eight writers at once and with a writer that escaped the
// process group (here the old drain also ended in time: the reader empties
// a pipe faster than writers refill it). Each run happens in a child
// process, so a runner that hangs fails the test instead of hanging it.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <string>
#include <thread>

#include "capf/tftp/exec_runner.hpp"

// The file's own namespace: the suite is compiled in unity batches, and its
// file-local names must not meet another file's.
namespace tftp_exec_drain_test_cases {

using namespace capf::tftp;
using namespace std::chrono_literals;

namespace {

struct Outcome {
    bool finished = false;  ///< run_program returned before the watchdog
    bool timed_out = false;
    std::chrono::duration<double> took{};
};

/// run_program(run) in a child process, given `watchdog` to return.
Outcome run_in_child(const ProgramRun& run, std::chrono::seconds watchdog) {
    int report[2];
    REQUIRE(::pipe(report) == 0);
    const auto started = std::chrono::steady_clock::now();
    const pid_t child = ::fork();
    REQUIRE(child >= 0);
    if (child == 0) {
        ::close(report[0]);
        const ProgramResult result = run_program(run);
        const char answer = result.timed_out ? 't' : 'e';
        (void)!::write(report[1], &answer, 1);
        ::_exit(0);
    }
    ::close(report[1]);
    Outcome out;
    int status = 0;
    while (std::chrono::steady_clock::now() - started < watchdog) {
        if (::waitpid(child, &status, WNOHANG) == child) {
            out.finished = true;
            break;
        }
        std::this_thread::sleep_for(20ms);
    }
    out.took = std::chrono::steady_clock::now() - started;
    if (!out.finished) {
        ::kill(child, SIGKILL);
        ::waitpid(child, &status, 0);
    } else {
        char answer = 0;
        out.timed_out = ::read(report[0], &answer, 1) == 1 && answer == 't';
    }
    ::close(report[0]);
    return out;
}

}  // namespace

TEST_CASE("exec runner: programs that write without pause are ended at their deadline") {
    ProgramRun run;
    run.argv = {CAPF_SOURCE_DIR "/tests/capf/tftp/exec/spew.sh"};
    run.timeout = 1s;
    const Outcome o = run_in_child(run, 20s);
    INFO("took " << o.took.count() << " s");
    REQUIRE(o.finished);
    CHECK(o.timed_out);
    // The timeout, the grace between SIGTERM and SIGKILL, and slack.
    CHECK(o.took < run.timeout + 2 * program_termination_grace + 2s);
}

TEST_CASE("exec runner: a writer left outside the process group does not hold the run") {
    ProgramRun run;
    run.argv = {CAPF_SOURCE_DIR "/tests/capf/tftp/exec/spew_detached.sh"};
    run.timeout = 5s;
    const Outcome o = run_in_child(run, 20s);
    INFO("took " << o.took.count() << " s");
    REQUIRE(o.finished);
    CHECK_FALSE(o.timed_out);  // the program itself exited at once
    CHECK(o.took < 3 * program_termination_grace + 2s);
}

}  // namespace tftp_exec_drain_test_cases
