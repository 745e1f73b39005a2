#include "capf/common/standard_descriptors.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <string>
#include <system_error>

namespace capf {

int open_closed_standard_descriptors() {
    int opened = 0;
    for (int fd = 0; fd <= 2; ++fd) {
        if (::fcntl(fd, F_GETFD) != -1 || errno != EBADF) {
            continue;
        }
        // open() returns the lowest free number, which is `fd` itself: the
        // ones below it are open (checked, or opened, on earlier turns).
        const int got = ::open("/dev/null", fd == 0 ? O_RDONLY : O_WRONLY);
        if (got == -1) {
            throw std::system_error(
                errno, std::generic_category(),
                "cannot open /dev/null for closed descriptor " + std::to_string(fd));
        }
        if (got != fd) {
            ::close(got);
            throw std::system_error(EBADF, std::generic_category(),
                                    "/dev/null opened as descriptor " + std::to_string(got) +
                                        ", not the closed " + std::to_string(fd));
        }
        ++opened;
    }
    return opened;
}

}  // namespace capf
