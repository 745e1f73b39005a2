#include "capf/common/atomic_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <random>
#include <string>

namespace capf {
namespace {

[[noreturn]] void fail(const char* what, const std::filesystem::path& path, int error) {
    throw FileWriteError(std::string(what) + " " + path.string() + ": " + std::strerror(error));
}

/// Closes the descriptor and removes the temporary file unless released.
class TemporaryFile {
  public:
    TemporaryFile(int fd, std::filesystem::path path) : fd_(fd), path_(std::move(path)) {}
    TemporaryFile(const TemporaryFile&) = delete;
    TemporaryFile& operator=(const TemporaryFile&) = delete;
    ~TemporaryFile() {
        close();
        if (!renamed_)
            ::unlink(path_.c_str());
    }
    int fd() const { return fd_; }
    const std::filesystem::path& path() const { return path_; }
    /// Closes now, so that a failing close (e.g. NFS reporting a write error) is seen.
    void close_checked() {
        const int fd = fd_;
        fd_ = -1;
        if (::close(fd) != 0)
            fail("cannot write", path_, errno);
    }
    void mark_renamed() { renamed_ = true; }

  private:
    void close() {
        if (fd_ >= 0)
            ::close(fd_);
        fd_ = -1;
    }
    int fd_;
    std::filesystem::path path_;
    bool renamed_ = false;
};

std::filesystem::path directory_of(const std::filesystem::path& target) {
    const auto parent = target.parent_path();
    return parent.empty() ? std::filesystem::path(".") : parent;
}

/// A new temporary file beside the target, opened exclusively: two writers
/// (threads or capfd nodes on a shared directory) never share one.
TemporaryFile create_temporary(const std::filesystem::path& target, mode_t mode) {
    static std::atomic<std::uint64_t> counter{0};
    thread_local std::mt19937_64 random{std::random_device{}()};
    for (int attempt = 0;; ++attempt) {
        const std::string name = "." + target.filename().string() + ".tmp-" +
                                 std::to_string(::getpid()) + "-" + std::to_string(++counter) +
                                 "-" + std::to_string(random() % 1000000);
        const auto path = directory_of(target) / name;
        const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
        if (fd >= 0)
            return TemporaryFile(fd, path);
        if (errno != EEXIST || attempt >= 16)
            fail("cannot create a temporary file for", target, errno);
    }
}

void write_all(const TemporaryFile& file, std::span<const std::uint8_t> bytes) {
    std::size_t done = 0;
    while (done < bytes.size()) {
        const ssize_t n = ::write(file.fd(), bytes.data() + done, bytes.size() - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            fail("cannot write", file.path(), errno);
        done += static_cast<std::size_t>(n);
    }
}

void fsync_directory(const std::filesystem::path& directory) {
    const int fd = ::open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        fail("cannot open directory", directory, errno);
    const int rc = ::fsync(fd);
    const int error = errno;
    ::close(fd);
    if (rc != 0)
        fail("cannot fsync directory", directory, error);
}

}  // namespace

void write_file_atomically(const std::filesystem::path& target, std::span<const std::uint8_t> bytes,
                           mode_t mode, const BeforeReplace& before_replace) {
    TemporaryFile file = create_temporary(target, mode);
    write_all(file, bytes);
    // The umask narrowed the mode given to open(); the caller asked for this one.
    if (::fchmod(file.fd(), mode) != 0)
        fail("cannot set the mode of", file.path(), errno);
    if (::fsync(file.fd()) != 0)
        fail("cannot fsync", file.path(), errno);
    file.close_checked();
    if (before_replace)
        before_replace();
    if (::rename(file.path().c_str(), target.c_str()) != 0)
        fail("cannot rename a temporary file onto", target, errno);
    file.mark_renamed();
    fsync_directory(directory_of(target));
}

void remove_file_durably(const std::filesystem::path& target, const BeforeReplace& before_replace) {
    if (before_replace)
        before_replace();
    if (::unlink(target.c_str()) != 0) {
        if (errno == ENOENT)
            return;
        fail("cannot remove", target, errno);
    }
    fsync_directory(directory_of(target));
}

}  // namespace capf
