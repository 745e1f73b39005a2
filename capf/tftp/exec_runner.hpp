// Running an operator's program for the `exec` encryptor (issue 12): no
// shell, a minimal environment, stdin written and closed, output kept to a
// bounded excerpt, and a hard deadline after which the program's whole
// process group is terminated. Nothing the program does can block or
// outlive the caller.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "capf/tftp/encryptor.hpp"

namespace capf::tftp {

/// The most output of a program kept for messages; the rest is read and
/// dropped so the program never blocks on a full pipe.
inline constexpr std::size_t program_output_excerpt_limit = 4096;

/// How long a program gets between SIGTERM and SIGKILL.
inline constexpr std::chrono::milliseconds program_termination_grace{1000};

struct ProgramRun {
    /// argv[0] is the path of the program, run as given: no shell, no PATH
    /// search. Must not be empty.
    std::vector<std::string> argv;
    /// Written to the program's stdin, which is then closed. A program that
    /// stops reading early is not an error (its exit status decides).
    std::string stdin_data;
    /// From the start of the run until the process group is terminated.
    std::chrono::milliseconds timeout{std::chrono::seconds(30)};
    /// The program's whole environment, "KEY=VALUE" each; nothing of the
    /// caller's environment is passed on.
    std::vector<std::string> environment{"PATH=/usr/bin:/bin", "LANG=C"};
};

struct ProgramResult {
    /// The exit status when the program exited; -1 when a signal ended it.
    int exit_code = -1;
    /// The timeout passed and the process group was terminated.
    bool timed_out = false;
    /// The signal that ended the program, 0 when it exited.
    int signal = 0;
    /// The first program_output_excerpt_limit bytes of stdout and stderr,
    /// interleaved as the program wrote them.
    std::string output_excerpt;
};

/// Runs argv[0] directly (posix_spawn in a process group of its own; no
/// shell), writes stdin_data to its stdin and closes it, collects stdout and
/// stderr (at most program_output_excerpt_limit bytes kept, the rest drained
/// and dropped), and waits at most `timeout`; then terminates the whole
/// process group (SIGTERM, program_termination_grace, SIGKILL) and reaps the
/// program. Whatever the program left running in its process group when it
/// exited is terminated the same way. No file descriptor of the caller
/// reaches the program besides its stdin, stdout and stderr, and the calling
/// thread never receives SIGPIPE from it.
///
/// Blocking: call it from the blocking pool. Throws EncryptorError only when
/// the program cannot be started (the message names argv[0] and the reason).
ProgramResult run_program(const ProgramRun& run);

}  // namespace capf::tftp
