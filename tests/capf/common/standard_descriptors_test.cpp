#include "capf/common/standard_descriptors.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <initializer_list>
#include <string>

// The file's own namespace: the suite is compiled in unity batches, and its
// file-local names must not meet another file's.
namespace standard_descriptors_test_cases {

namespace {

// Exit codes of the child: 0 is success, each failure its own number, so
// that the REQUIRE below says which check failed.
enum ChildResult : int {
    ok = 0,
    wrong_count = 10,
    not_dev_null = 20,    // + the descriptor
    open_one_moved = 30,  // + the descriptor: an open one was replaced
    next_open_low = 40,
    threw = 50,
};

bool is_dev_null(int fd) {
    struct stat of_fd {};
    struct stat of_null {};
    return ::fstat(fd, &of_fd) == 0 && ::stat("/dev/null", &of_null) == 0 &&
           of_fd.st_rdev == of_null.st_rdev && S_ISCHR(of_fd.st_mode);
}

/// In a child (the closing must not touch the test runner's own 0-2): closes
/// `to_close`, runs open_closed_standard_descriptors and checks the result.
int run_in_child(std::initializer_list<int> to_close) {
    // A pipe on 0-2 tells "left alone" apart from "/dev/null opened on it".
    int fds[2];
    if (::pipe(fds) != 0)
        return -1;
    const pid_t pid = ::fork();
    if (pid == 0) {
        for (int fd = 0; fd <= 2; ++fd)
            ::dup2(fds[1], fd);
        bool closed[3] = {false, false, false};
        for (int fd : to_close) {
            ::close(fd);
            closed[fd] = true;
        }
        int opened = 0;
        try {
            opened = capf::open_closed_standard_descriptors();
        } catch (...) {
            ::_exit(threw);
        }
        if (opened != static_cast<int>(to_close.size()))
            ::_exit(wrong_count);
        for (int fd = 0; fd <= 2; ++fd) {
            if (closed[fd] && !is_dev_null(fd))
                ::_exit(not_dev_null + fd);
            if (!closed[fd] && is_dev_null(fd))
                ::_exit(open_one_moved + fd);
        }
        const int next = ::open("/dev/null", O_RDONLY);
        ::_exit(next > 2 ? ok : next_open_low);
    }
    ::close(fds[0]);
    ::close(fds[1]);
    int status = 0;
    ::waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -2;
}

}  // namespace

TEST_CASE("closed standard descriptors get /dev/null, so the next open is above 2",
          "[standard_descriptors]") {
    REQUIRE(run_in_child({0, 1, 2}) == ok);
}

TEST_CASE("only the closed standard descriptor is replaced, the open ones are left alone",
          "[standard_descriptors]") {
    REQUIRE(run_in_child({1}) == ok);
    REQUIRE(run_in_child({2}) == ok);
    REQUIRE(run_in_child({0, 2}) == ok);
}

TEST_CASE("with every standard descriptor open nothing is opened", "[standard_descriptors]") {
    REQUIRE(run_in_child({}) == ok);
}

}  // namespace standard_descriptors_test_cases
