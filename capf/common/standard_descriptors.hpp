// A program started with standard input, output or error closed (`2>&-`, a
// careless supervisor) would hand those numbers to the next files it opens:
// a database socket, a key file, a TFTP file being written. Its log lines
// (written to descriptor 2) and capfctl's output (descriptor 1) would then
// go into that file or socket. (Seen in 0.1.0 started with all three closed:
// 0 was Botan's /dev/urandom, 1 Asio's eventfd, 2 its epoll descriptor, so
// every log line was written into the epoll descriptor and lost; harmless
// only because of the order things happen to be opened in.) Opening
// /dev/null on whichever of 0, 1 and 2 is closed, first thing in main, keeps
// every later open above them.
#pragma once

namespace capf {

/// Opens /dev/null on each of descriptors 0, 1 and 2 that is closed. Returns
/// how many it opened. Throws std::system_error when /dev/null cannot be
/// opened (the process should not go on: its next open would take the slot).
int open_closed_standard_descriptors();

}  // namespace capf
