// Deadlines for I/O: every read and write of a session has one, so a silent
// peer can never hold a session (or its memory) forever.
#pragma once

#include <chrono>
#include <stdexcept>

namespace capf {

using Deadline = std::chrono::steady_clock::time_point;

/// A deadline `d` from now.
inline Deadline deadline_after(std::chrono::steady_clock::duration d) {
    return std::chrono::steady_clock::now() + d;
}

/// Thrown when an operation's deadline passes first.
class TimedOut : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

}  // namespace capf
